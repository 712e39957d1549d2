#include "player/replay.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

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
  Replayer r(&t, {}, &io);
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
  Replayer r(&t, o, &io);
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
  Replayer r(&t, o, &io);
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
  Replayer r(&t, o, &io);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_EQ(io.All(), "\x1b[8;24;80tabc\x1b[8;30;100td");
}

TEST(Replay, PauseResumeAndQuit) {
  Timeline t = Sample();
  FakeIo io(true);
  io.KeyAt(kStart + 500 * kMs, ' ');  // pause at 0.5 s
  io.KeyAt(kStart + 5 * kSec, ' ');   // resume 4.5 s later
  io.KeyAt(kStart + 15 * kSec, 'q');
  Replayer r(&t, {}, &io);
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
  Replayer r(&t, {}, &io);
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
  Replayer r(&t, {}, &io);
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
  Replayer r(&t, o, &io);
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
  Replayer r(&t, o, &io);
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
  Replayer r(&t, o, &io);
  ASSERT_TRUE(r.Run().ok());
  EXPECT_GE(r.stats().loops, 4);
  EXPECT_NE(io.All().find(std::string("abcd") + std::string(kClearScreen) + "abcd"),
            std::string::npos);
}

}  // namespace
}  // namespace podtape::player
