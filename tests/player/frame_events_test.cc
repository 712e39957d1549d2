#include "player/frame_events.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace podtape::player {
namespace {

using store::Direction;
constexpr int64_t kMs = 1'000'000;

struct Got {
  int64_t t_ns;
  char type;
  std::string data;
  friend bool operator==(const Got&, const Got&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Got& g) {
    return os << "{" << g.t_ns << "," << g.type << ",\"" << g.data << "\"}";
  }
};

class FrameEventsTest : public ::testing::Test {
 protected:
  void Make(FrameEventizer::Options options) {
    ez_ = std::make_unique<FrameEventizer>(options, [this](const Event& e) {
      got_.push_back({e.t_ns, static_cast<char>(e.type), std::string(e.data)});
      return Status::OK();
    });
  }
  void Frame(int64_t t_ms, Direction d, uint8_t ch, std::string_view payload) {
    store::FrameView f{seq_++, t_ms * kMs, d, ch, payload, {}};
    ASSERT_TRUE(ez_->OnFrame(f).ok());
  }
  void Out(int64_t t_ms, std::string_view p) { Frame(t_ms, Direction::kFromServer, 1, p); }
  void Err(int64_t t_ms, std::string_view p) { Frame(t_ms, Direction::kFromServer, 2, p); }
  void In(int64_t t_ms, std::string_view p) { Frame(t_ms, Direction::kToServer, 0, p); }
  void Resize(int64_t t_ms, std::string_view p) { Frame(t_ms, Direction::kToServer, 4, p); }

  std::unique_ptr<FrameEventizer> ez_;
  std::vector<Got> got_;
  int64_t seq_ = 0;
};

TEST_F(FrameEventsTest, OutputInArrivalOrderWithoutTheReadyFrame) {
  Make({});
  Out(0, "");  // ready
  Out(10, "out1 ");
  Err(20, "err ");
  Out(30, "out2");
  Frame(40, Direction::kFromServer, 3, "{\"metadata\":{},\"status\":\"Success\"}");
  ASSERT_TRUE(ez_->Finish(0, 50 * kMs).ok());
  EXPECT_EQ(got_, (std::vector<Got>{{10 * kMs, 'o', "out1 "},
                                    {20 * kMs, 'o', "err "},
                                    {30 * kMs, 'o', "out2"},
                                    {50 * kMs, 'x', "0"}}));
}

TEST_F(FrameEventsTest, Utf8SplitAcrossFramesPerStream) {
  Make({});
  Out(10, "a\xC5");
  Err(15, "\xE2\x82");  // stderr's own partial character
  Out(20,
      "\xBC"
      "b");
  Err(25, "\xAC");
  Out(30, "\xFF");
  Out(40, "\xF0\x9F");  // left incomplete at the end
  ASSERT_TRUE(ez_->Finish(std::nullopt, 0).ok());
  EXPECT_EQ(got_, (std::vector<Got>{{10 * kMs, 'o', "a"},
                                    {20 * kMs, 'o',
                                     "\xC5\xBC"
                                     "b"},
                                    {25 * kMs, 'o', "\xE2\x82\xAC"},
                                    {30 * kMs, 'o', "\xEF\xBF\xBD"},
                                    {40 * kMs, 'o', "\xEF\xBF\xBD"}}));
}

TEST_F(FrameEventsTest, ResizeJsonJoinedAndSplit) {
  Make({});
  Resize(0, "{\"Width\":100,\"Height\":30}\n{\"Width\":120,\"Height\":40}\n");
  Resize(10, "{\"Width\":90,");
  Resize(20, "\"Height\":20}\n");
  ASSERT_TRUE(ez_->Finish(std::nullopt, 0).ok());
  EXPECT_EQ(got_,
            (std::vector<Got>{{0, 'r', "100x30"}, {0, 'r', "120x40"}, {20 * kMs, 'r', "90x20"}}));
  EXPECT_EQ(ez_->resize_errors(), 0);
}

TEST_F(FrameEventsTest, BadResizeStopsResizeEvents) {
  Make({});
  Resize(0, "{\"Width\":100,\"Height\":30}\n");
  Resize(10, "not json");
  Resize(20, "{\"Width\":90,\"Height\":20}\n");
  ASSERT_TRUE(ez_->Finish(std::nullopt, 0).ok());
  EXPECT_EQ(got_, (std::vector<Got>{{0, 'r', "100x30"}}));
  EXPECT_EQ(ez_->resize_errors(), 1);
}

TEST_F(FrameEventsTest, MarkersAtEachEnterAndInputOnlyWhenAsked) {
  Make({});
  In(10, "l");
  In(20, "s\r");
  In(30, "echo hi\r\n");
  In(40, "typo\x7f\x7fpe\n");
  ASSERT_TRUE(ez_->Finish(std::nullopt, 0).ok());
  EXPECT_EQ(got_, (std::vector<Got>{
                      {20 * kMs, 'm', "ls"}, {30 * kMs, 'm', "echo hi"}, {40 * kMs, 'm', "type"}}));
  got_.clear();
  Make({.input = true, .markers_from_input = false});
  In(10, "ls\r");
  Frame(20, Direction::kToServer, 255, std::string_view("\x00", 1));  // v5 close: no event
  ASSERT_TRUE(ez_->Finish(std::nullopt, 0).ok());
  EXPECT_EQ(got_, (std::vector<Got>{{10 * kMs, 'i', "ls\r"}}));
}

TEST_F(FrameEventsTest, ImportedMarkersAndNoStatus) {
  Make({.input = false, .markers_from_input = false});
  Out(10, "x");
  Frame(20, Direction::kFromServer, kMarkerChannel, "chapter 1");
  // No status, no exit code: no `x` event (an interrupted session).
  ASSERT_TRUE(ez_->Finish(std::nullopt, 100 * kMs).ok());
  EXPECT_EQ(got_, (std::vector<Got>{{10 * kMs, 'o', "x"}, {20 * kMs, 'm', "chapter 1"}}));
}

TEST(FrameEvents, SessionEndOffset) {
  store::SessionRow row;
  row.meta.started_at_ns = 1000 * kMs;
  EXPECT_EQ(SessionEndOffset(row, 5 * kMs), 5 * kMs);  // not ended
  row.ended = true;
  row.end.ended_at_ns = 1100 * kMs;
  EXPECT_EQ(SessionEndOffset(row, 5 * kMs), 100 * kMs);
  EXPECT_EQ(SessionEndOffset(row, 200 * kMs), 200 * kMs);
}

}  // namespace
}  // namespace podtape::player
