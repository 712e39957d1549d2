#include "player/time_spec.h"

#include <gtest/gtest.h>

namespace podtape::player {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(TimeSpec, ParsesOffsets) {
  EXPECT_EQ(*ParseOffset("90"), 90 * kSec);
  EXPECT_EQ(*ParseOffset("90.5s"), 90 * kSec + kSec / 2);
  EXPECT_EQ(*ParseOffset("0.001"), 1'000'000);
  EXPECT_EQ(*ParseOffset("1:30"), 90 * kSec);
  EXPECT_EQ(*ParseOffset("1:02:03.5"), (3600 + 120 + 3) * kSec + kSec / 2);
  EXPECT_EQ(*ParseOffset("0:00.25"), kSec / 4);
  for (const char* bad : {"", "s", "-1", "1:60", "1:2:3:4", "abc", "1.", ".", "1:61:00", "1::2"}) {
    Result<int64_t> r = ParseOffset(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("invalid offset"), std::string::npos);
    }
  }
}

TEST(TimeSpec, FormatOffsetRoundTrips) {
  EXPECT_EQ(FormatOffset(90 * kSec + kSec / 2), "1:30.500");
  EXPECT_EQ(FormatOffset((3600 + 120 + 3) * kSec), "1:02:03.000");
  for (int64_t ns : {int64_t{0}, 61 * kSec + 7'000'000, 7322 * kSec + 123'000'000}) {
    EXPECT_EQ(*ParseOffset(FormatOffset(ns)), ns);
  }
}

TEST(TimeSpec, ParsesDurations) {
  EXPECT_EQ(*ParseDuration("90s"), 90 * kSec);
  EXPECT_EQ(*ParseDuration("2h"), 7200 * kSec);
  EXPECT_EQ(*ParseDuration("30d"), 30 * 86400 * kSec);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400 * kSec);
  EXPECT_EQ(*ParseDuration("500ms"), kSec / 2);
  EXPECT_EQ(*ParseDuration("1.5h"), 5400 * kSec);
  for (const char* bad : {"", "90", "2x", "h", "0s", "-5m"})
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
}

TEST(TimeSpec, ParsesRfc3339) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2026-11-26T08:00:00Z"), 1795680000 * kSec);
  EXPECT_EQ(*ParseRfc3339("2026-11-26T09:00:00.5+01:00"), 1795680000 * kSec + kSec / 2);
  EXPECT_EQ(*ParseRfc3339("2026-11-26t07:30:00-00:30"), 1795680000 * kSec);
  EXPECT_EQ(*ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800 * kSec);
  for (const char* bad : {"2026-11-26", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2026-11-26T08:00:00", "2026-11-26T24:00:00Z", "2026-11-26T08:00:00+1"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(TimeSpec, TimePointIsADurationAgoOrAnAbsoluteTime) {
  const int64_t now = 1795680000 * kSec;
  EXPECT_EQ(*ParseTimePoint("2h", now), now - 7200 * kSec);
  EXPECT_EQ(*ParseTimePoint("2026-11-26T08:00:00Z", now), now);
  EXPECT_FALSE(ParseTimePoint("yesterday", now).ok());
}

TEST(TimeSpec, FormatsRfc3339) {
  EXPECT_EQ(FormatRfc3339(1795680000 * kSec), "2026-11-26T08:00:00Z");
  EXPECT_EQ(FormatRfc3339(1795680000 * kSec + 250'000'000, true), "2026-11-26T08:00:00.25Z");
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339(1795680000 * kSec + 123'456'789, true)),
            1795680000 * kSec + 123'456'789);
}

}  // namespace
}  // namespace podtape::player
