#include "player/replay.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "player/export.h"
#include "tests/player/test_sessions.h"

namespace podtape::player {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;

// A fake clock and keyboard: time moves only when the player waits; keys are scripted at times.
class FakeIo : public PlaybackIo {
 public:
  struct Written {
    int64_t at_ns;
    std::string bytes;
  };
  explicit FakeIo(bool keyboard) : keyboard_(keyboard) {}
  void KeyAt(int64_t at_ns, char key) { keys_.push_back({at_ns, key}); }
  int64_t NowNs() override { return now_; }
  std::optional<char> WaitKey(int64_t deadline_ns) override {
    ++waits_;
    if (keyboard_ && !keys_.empty() && keys_.front().first <= deadline_ns) {
      now_ = std::max(now_, keys_.front().first);
      char k = keys_.front().second;
      keys_.pop_front();
      return k;
    }
    if (deadline_ns == kForever) return std::nullopt;
    now_ = std::max(now_, deadline_ns);
    return std::nullopt;
  }
  Status Write(std::string_view bytes) override {
    writes.push_back({now_, std::string(bytes)});
    return Status::OK();
  }
  std::string All() const {
    std::string s;
    for (const auto& w : writes) s += w.bytes;
    return s;
  }
  std::vector<Written> writes;
  int waits_ = 0;

 private:
  bool keyboard_;
  int64_t now_ = 1000 * kSec;  // any start point
  std::deque<std::pair<int64_t, char>> keys_;
};

Timeline Sample() {
  Timeline t;
  t.Add({100 * kMs, EventType::kOutput, "a"});
  t.Add({1 * kSec, EventType::kMarker, "one"});
  t.Add({1 * kSec, EventType::kOutput, "b"});
  t.Add({10 * kSec, EventType::kOutput, "c"});
  t.Add({11 * kSec, EventType::kMarker, "two"});
  t.Add({12 * kSec, EventType::kResize, "100x30"});
  t.Add({12 * kSec, EventType::kOutput, "d"});
  return t;
}

constexpr int64_t kStart = 1000 * kSec;

TEST(Replay, WritesEachEventAtItsAbsoluteDeadline) {
  Timeline t = Sample();
  FakeIo io(false);
  TimelineSource src(&t);
  Replayer r(&src, {}, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 4u);
  EXPECT_EQ(io.writes[0].at_ns - kStart, 100 * kMs);
  EXPECT_EQ(io.writes[1].at_ns - kStart, 1 * kSec);
  EXPECT_EQ(io.writes[2].at_ns - kStart, 10 * kSec);
  EXPECT_EQ(io.writes[3].at_ns - kStart, 12 * kSec);
  EXPECT_EQ(io.All(), "abcd");
}

TEST(Replay, SpeedAndIdleLimit) {
  Timeline t = Sample();
  FakeIo io(false);
  ReplayOptions o;
  o.speed = 2;
  o.idle_limit_ns = 2 * kSec;
  TimelineSource src(&t);
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 4u);
  EXPECT_EQ(io.writes[0].at_ns - kStart, 50 * kMs);
  EXPECT_EQ(io.writes[1].at_ns - kStart, 500 * kMs);
  EXPECT_EQ(io.writes[2].at_ns - kStart, 1500 * kMs);  // 9 s gap cut to 2 s, at 2x
  EXPECT_EQ(io.writes[3].at_ns - kStart, 2500 * kMs);
}

TEST(Replay, FromDrawsEarlierOutputAtOnceAndToStops) {
  Timeline t = Sample();
  FakeIo io(false);
  ReplayOptions o;
  o.from_ns = 5 * kSec;
  o.to_ns = 11 * kSec;
  TimelineSource src(&t);
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 2u);
  EXPECT_EQ(io.writes[0].at_ns, kStart);
  EXPECT_EQ(io.writes[0].bytes, "ab");
  EXPECT_EQ(io.writes[1].at_ns - kStart, 5 * kSec);  // c at 10 s, played from 5 s
  EXPECT_EQ(io.writes[1].bytes, "c");
}

TEST(Replay, ResizeWritesXtermSizeRequests) {
  Timeline t = Sample();
  FakeIo io(false);
  ReplayOptions o;
  o.resize = true;
  o.cols = 80;
  o.rows = 24;
  TimelineSource src(&t);
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(io.All(), "\x1b[8;24;80tabc\x1b[8;30;100td");
}

TEST(Replay, PauseResumeAndQuit) {
  Timeline t = Sample();
  FakeIo io(true);
  io.KeyAt(kStart + 500 * kMs, ' ');  // pause at 0.5 s
  io.KeyAt(kStart + 5 * kSec, ' ');   // resume 4.5 s later
  io.KeyAt(kStart + 15 * kSec, 'q');
  TimelineSource src(&t);
  Replayer r(&src, {}, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 3u);
  EXPECT_EQ(io.writes[1].at_ns - kStart, 5500 * kMs);   // b was due 0.5 s after the pause point
  EXPECT_EQ(io.writes[2].at_ns - kStart, 14500 * kMs);  // d (16.5 s) never came: q at 15 s
  EXPECT_TRUE(r.stats().quit);
}

TEST(Replay, StepWhilePausedAndSpeedKeys) {
  Timeline t = Sample();
  FakeIo io(true);
  io.KeyAt(kStart, ' ');
  io.KeyAt(kStart + 1 * kSec, '.');
  io.KeyAt(kStart + 2 * kSec, '.');
  io.KeyAt(kStart + 3 * kSec, '+');
  io.KeyAt(kStart + 4 * kSec, ' ');  // resume at b (1 s) at speed 2: c due 4.5 s later
  TimelineSource src(&t);
  Replayer r(&src, {}, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 4u);
  EXPECT_EQ(io.writes[0].at_ns - kStart, 1 * kSec);
  EXPECT_EQ(io.writes[0].bytes, "a");
  EXPECT_EQ(io.writes[1].at_ns - kStart, 2 * kSec);
  EXPECT_EQ(io.writes[1].bytes, "b");
  EXPECT_EQ(io.writes[2].at_ns - kStart, 8500 * kMs);
  EXPECT_EQ(io.writes[3].at_ns - kStart, 9500 * kMs);
}

TEST(Replay, NextAndPreviousMarker) {
  Timeline t = Sample();
  FakeIo io(true);
  io.KeyAt(kStart + 200 * kMs, ']');  // jump to "one" (1 s): b follows at once
  io.KeyAt(kStart + 300 * kMs, ']');  // jump to "two" (11 s): c drawn at once
  io.KeyAt(kStart + 400 * kMs, '[');  // back: within 1 s of "two", so to "one"
  TimelineSource src(&t);
  Replayer r(&src, {}, &io);
  ASSERT_TRUE(r.Run().ok());
  std::string all = io.All();
  EXPECT_EQ(all, std::string("a") + "b" + "c" + std::string(kClearScreen) + "a" + "bcd");
  // After going back to "one" (1 s) at 0.4 s, c (10 s) is due 9 s later.
  EXPECT_EQ(io.writes.back().at_ns - kStart, 400 * kMs + 11 * kSec);
}

TEST(Replay, PauseOnMarkersWithoutKeyboardPlaysOn) {
  Timeline t = Sample();
  FakeIo io(false);
  ReplayOptions o;
  o.pause_on_markers = true;
  TimelineSource src(&t);
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(io.All(), "abcd");
}

TEST(Replay, PauseOnMarkersWaitsForSpace) {
  Timeline t = Sample();
  FakeIo io(true);
  io.KeyAt(kStart + 3 * kSec, ' ');
  io.KeyAt(kStart + 30 * kSec, ' ');
  ReplayOptions o;
  o.pause_on_markers = true;
  TimelineSource src(&t);
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 4u);
  EXPECT_EQ(io.writes[1].at_ns - kStart, 3 * kSec);  // b right after resuming at "one"
  EXPECT_EQ(io.writes[2].at_ns - kStart, 12 * kSec);
  EXPECT_EQ(io.writes[3].at_ns - kStart, 31 * kSec);
}

TEST(Replay, LoopRestartsFromTheStart) {
  Timeline t = Sample();
  FakeIo io(true);
  io.KeyAt(kStart + 15 * kSec, 'q');
  ReplayOptions o;
  o.loop = true;
  o.speed = 4;
  TimelineSource src(&t);
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_GE(r.stats().loops, 4);
  EXPECT_NE(io.All().find(std::string("abcd") + std::string(kClearScreen) + "abcd"),
            std::string::npos);
}

TEST(Replay, NextMarkerWithNoneAheadDrawsTheRest) {
  Timeline u;
  u.Add({100 * kMs, EventType::kOutput, "a"});
  u.Add({5 * kSec, EventType::kOutput, "b"});
  FakeIo io2(true);
  io2.KeyAt(kStart + 200 * kMs, ']');
  TimelineSource src(&u);
  Replayer r(&src, {}, &io2);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(io2.All(), "ab");
  EXPECT_EQ(io2.writes.back().at_ns - kStart, 200 * kMs);  // b at once, not at 5 s
}

TEST(Replay, PreviousMarkerAfterManyMarkersReadsTheSourceAgain) {
  // 100 commands a second apart; at 50.5 s '[' goes back to command 50 (passed 0.5 s ago: to
  // 49), drawing everything before it at once.
  Timeline t;
  for (int i = 0; i < 100; ++i) {
    t.Add({i * kSec, EventType::kMarker, "cmd"});
    t.Add({i * kSec + kMs, EventType::kOutput, std::string(1, static_cast<char>('0' + i % 10))});
  }
  FakeIo io(true);
  io.KeyAt(kStart + 50 * kSec + 500 * kMs, '[');
  io.KeyAt(kStart + 51 * kSec, 'q');
  TimelineSource src(&t);
  Replayer r(&src, {}, &io);
  ASSERT_TRUE(r.Run().ok());
  std::string expect;
  for (int i = 0; i <= 50; ++i) expect += static_cast<char>('0' + i % 10);
  expect += kClearScreen;
  for (int i = 0; i < 49; ++i) expect += static_cast<char>('0' + i % 10);
  expect += "9";  // 49's output, 1 ms after its marker, played with timing
  EXPECT_EQ(io.All(), expect);
  // The catch-up is one write; 49's output follows 1 ms after the key.
  EXPECT_EQ(io.writes.back().at_ns - kStart, 50 * kSec + 501 * kMs);
}

TEST(Replay, IdleLimitAndFromOverAStream) {
  Timeline t = Sample();
  // The same as FromDrawsEarlierOutputAtOnceAndToStops, through the streaming source, with an
  // idle limit: c (10 s) after a 9 s gap cut to 2 s is at 3 s; --from 5 s is 2 s after b.
  StreamedEvents src([&t](const EventSink& sink) {
    for (size_t i = 0; i < t.size(); ++i) PODTAPE_RETURN_IF_ERROR(sink(t.event(i)));
    return Status::OK();
  });
  FakeIo io(false);
  ReplayOptions o;
  o.from_ns = 5 * kSec;
  o.idle_limit_ns = 2 * kSec;
  Replayer r(&src, o, &io);
  ASSERT_TRUE(r.Run().ok());
  ASSERT_EQ(io.writes.size(), 3u);
  EXPECT_EQ(io.writes[0].bytes, "ab");
  EXPECT_EQ(io.writes[1].at_ns - kStart, 0);  // c is at 3 s, --from at 3 s
  EXPECT_EQ(io.writes[2].at_ns - kStart, 2 * kSec);
}

TEST(Replay, JumpsBetweenTheCommandsOfAStoredSession) {
  auto st = store::Store::Open(":memory:");
  ASSERT_TRUE(st.ok()) << st.status().message();
  using namespace podtape::testing;
  std::string id = Record(
      **st, SampleMeta(),
      {Out(0, ""), Out(100, "$ "), In(1000, "ls\r"), Out(1001, "ls\r\n"), Out(1002, "a b\r\n$ "),
       In(30000, "date\r"), Out(30001, "date\r\nThu\r\n$ "), Out(60000, "exit\r\n")},
      0);
  auto row = (*st)->Find(id);
  ASSERT_TRUE(row.ok());
  // What `podtape play` reads: the session's events with its commands as markers, streamed.
  StreamedEvents src(
      [&](const EventSink& sink) { return ForEachEvent(**st, *row, /*input=*/false, sink); });
  FakeIo io(true);
  io.KeyAt(kStart + 500 * kMs, ']');   // to "ls" (1 s): its output follows
  io.KeyAt(kStart + 1 * kSec, ']');    // to "date" (30 s), not 29 s later
  io.KeyAt(kStart + 1500 * kMs, '[');  // "date" passed 0.5 s ago: back to "ls"
  io.KeyAt(kStart + 1600 * kMs, 'q');
  Replayer r(&src, {}, &io);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(io.All(), std::string("$ ls\r\na b\r\n$ date\r\nThu\r\n$ ") +
                          std::string(kClearScreen) + "$ ls\r\na b\r\n$ ");
  EXPECT_EQ(io.writes.back().at_ns - kStart, 1502 * kMs);
}

// --- StreamedEvents -----------------------------------------------------------------------------

Status Produce(int n, size_t size, const EventSink& sink, int* runs) {
  ++*runs;
  std::string data(size, 'x');
  for (int i = 0; i < n; ++i) {
    data[0] = static_cast<char>('A' + i % 26);
    PODTAPE_RETURN_IF_ERROR(sink(Event{i * kMs, EventType::kOutput, data}));
    PODTAPE_RETURN_IF_ERROR(sink(Event{i * kMs, EventType::kInput, "not played"}));
  }
  return Status::OK();
}

TEST(StreamedEvents, DeliversInOrderWithinABoundedReadAhead) {
  int runs = 0;
  // 64 MB of events through a 1 MB read-ahead.
  StreamedEvents src([&](const EventSink& sink) { return Produce(16384, 4096, sink, &runs); },
                     1 << 20);
  std::optional<Event> e;
  for (int i = 0; i < 16384; ++i) {
    ASSERT_TRUE(src.Next(&e).ok());
    ASSERT_TRUE(e.has_value()) << i;
    ASSERT_EQ(e->t_ns, i * kMs);
    ASSERT_EQ(e->type, EventType::kOutput);
    ASSERT_EQ(e->data.size(), 4096u);
    ASSERT_EQ(e->data[0], static_cast<char>('A' + i % 26));
  }
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_FALSE(e.has_value());
  EXPECT_LE(src.peak_buffered_bytes(), size_t{1 << 20});
  EXPECT_EQ(runs, 1);
}

TEST(StreamedEvents, RewindStopsTheProducerAndStartsAgain) {
  int runs = 0;
  StreamedEvents src([&](const EventSink& sink) { return Produce(100000, 100, sink, &runs); },
                     64 * 1024);
  std::optional<Event> e;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_EQ(e->t_ns, 9 * kMs);
  ASSERT_TRUE(src.Rewind().ok());
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_EQ(e->t_ns, 0);
  EXPECT_EQ(e->data[0], 'A');
  EXPECT_EQ(runs, 2);
  // Destroyed with the producer blocked on a full read-ahead: it is stopped, nothing hangs.
}

TEST(StreamedEvents, AnErrorComesAfterTheEventsBeforeIt) {
  StreamedEvents src([](const EventSink& sink) {
    PODTAPE_RETURN_IF_ERROR(sink(Event{0, EventType::kOutput, "one"}));
    PODTAPE_RETURN_IF_ERROR(sink(Event{1, EventType::kMarker, "ls"}));
    return Status::Corruption("line 3: not valid JSON");
  });
  std::optional<Event> e;
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_EQ(e->data, "one");
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_EQ(e->type, EventType::kMarker);
  Status st = src.Next(&e);
  EXPECT_EQ(st.message(), "line 3: not valid JSON");
  EXPECT_FALSE(e.has_value());
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_FALSE(e.has_value());
}

TEST(StreamedEvents, AnEventLargerThanTheReadAheadStillMoves) {
  StreamedEvents src(
      [](const EventSink& sink) {
        std::string big(3 << 20, 'b');
        PODTAPE_RETURN_IF_ERROR(sink(Event{0, EventType::kOutput, big}));
        return sink(Event{1, EventType::kOutput, big});
      },
      1 << 20);
  std::optional<Event> e;
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_EQ(e->data.size(), size_t{3 << 20});
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_EQ(e->t_ns, 1);
  ASSERT_TRUE(src.Next(&e).ok());
  EXPECT_FALSE(e.has_value());
}

}  // namespace
}  // namespace podtape::player
