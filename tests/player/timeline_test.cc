#include "player/timeline.h"

#include <gtest/gtest.h>

namespace podtape::player {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(Timeline, LimitIdleCapsEveryGap) {
  // asciinema's example: (0, foo), (20, bar), (50, baz) with a limit of 10.
  EXPECT_EQ(LimitIdle({0, 20 * kSec, 50 * kSec}, 10 * kSec),
            (std::vector<int64_t>{0, 10 * kSec, 20 * kSec}));
  EXPECT_EQ(LimitIdle({15 * kSec, 16 * kSec}, 2 * kSec),
            (std::vector<int64_t>{2 * kSec, 3 * kSec}));
}

TEST(Timeline, ScalesBySpeed) {
  EXPECT_EQ(ScaleBySpeed(10 * kSec, 2.0), 5 * kSec);
  EXPECT_EQ(ScaleBySpeed(10 * kSec, 0.5), 20 * kSec);
}

Timeline Sample() {
  Timeline t;
  t.Add({0, EventType::kOutput, "$ "});
  t.Add({1 * kSec, EventType::kMarker, "ls"});
  t.Add({1 * kSec, EventType::kOutput, "a b\r\n$ "});
  t.Add({2 * kSec, EventType::kInput, "ignored"});
  t.Add({30 * kSec, EventType::kResize, "120x40"});
  t.Add({31 * kSec, EventType::kMarker, "vi"});
  t.Add({32 * kSec, EventType::kOutput, "done"});
  t.Add({33 * kSec, EventType::kExit, "0"});
  return t;
}

TEST(Timeline, KeepsOnlyPlayableEventsAndTheirData) {
  Timeline t = Sample();
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t.data(2), "a b\r\n$ ");
  EXPECT_EQ(t[3].type, EventType::kResize);
  int cols = 80, rows = 24;
  t.MaxSize(&cols, &rows);
  EXPECT_EQ(cols, 120);
  EXPECT_EQ(rows, 40);
}

TEST(Timeline, IdleLimitAndSeek) {
  Timeline t = Sample();
  t.ApplyIdleLimit(2 * kSec);
  EXPECT_EQ(t[2].v_ns, 1 * kSec);
  EXPECT_EQ(t[3].v_ns, 3 * kSec);  // 29 s of silence cut to 2 s
  EXPECT_EQ(t[5].v_ns, 5 * kSec);
  EXPECT_EQ(t.IndexAtOrAfter(1 * kSec), 1u);
  EXPECT_EQ(t.IndexAtOrAfter(20 * kSec), 3u);
  EXPECT_EQ(t.IndexAtOrAfter(100 * kSec), 6u);
  EXPECT_EQ(t.PlaybackTimeOf(20 * kSec), 3 * kSec);  // inside the cut gap
  EXPECT_EQ(t.PlaybackTimeOf(31 * kSec + kSec / 2), 4 * kSec + kSec / 2);
  t.ApplyIdleLimit(std::nullopt);
  EXPECT_EQ(t[3].v_ns, 30 * kSec);
}

TEST(Timeline, FindsMarkers) {
  Timeline t = Sample();
  EXPECT_EQ(t.NextMarker(0), 1u);
  EXPECT_EQ(t.NextMarker(1), 4u);
  EXPECT_EQ(t.NextMarker(4), std::nullopt);
  EXPECT_EQ(t.PrevMarker(6), 4u);
  EXPECT_EQ(t.PrevMarker(4), 1u);
  EXPECT_EQ(t.PrevMarker(1), std::nullopt);
}

TEST(Timeline, ParsesSizes) {
  int c = 0, r = 0;
  EXPECT_TRUE(ParseSize("80x24", &c, &r));
  EXPECT_EQ(c, 80);
  EXPECT_EQ(r, 24);
  for (const char* bad : {"", "80", "x24", "80x", "80x24x", "0x10", "ax3"}) {
    EXPECT_FALSE(ParseSize(bad, &c, &r)) << bad;
  }
}

}  // namespace
}  // namespace podtape::player
