#include "player/asciicast.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <sstream>
#include <vector>

namespace podtape::player {
namespace {

constexpr int64_t kMs = 1'000'000;

struct Recorded {
  int64_t t_ns;
  char type;
  std::string data;
  friend bool operator==(const Recorded&, const Recorded&) = default;
};

std::vector<Recorded> ReadBack(const std::string& cast, CastHeader* header = nullptr,
                               CastVersion* version = nullptr) {
  std::istringstream in(cast);
  auto reader = AsciicastReader::Open(&in, "test.cast");
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return {};
  if (header) *header = (*reader)->header();
  if (version) *version = (*reader)->version();
  std::vector<Recorded> out;
  Status st = (*reader)->ReadEvents([&](const Event& e) {
    out.push_back({e.t_ns, static_cast<char>(e.type), std::string(e.data)});
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

CastHeader SampleHeader() {
  CastHeader h;
  h.cols = 100;
  h.rows = 30;
  h.timestamp_s = 1795680000;
  h.command = "sh -c ls";
  h.title = "demo";
  h.term_type = "xterm-256color";
  h.shell = "/bin/sh";
  h.idle_time_limit = 2.5;
  return h;
}

TEST(AsciicastWriter, WritesV2WithAbsoluteTimes) {
  std::string out;
  StringSink sink(&out);
  AsciicastWriter w(CastVersion::kV2, &sink);
  ASSERT_TRUE(w.WriteHeader(SampleHeader()).ok());
  ASSERT_TRUE(w.WriteEvent({1'234'567'400, EventType::kOutput, "hi \"x\"\r\n\x1b[0m"}).ok());
  ASSERT_TRUE(w.WriteEvent({2'000'000'000, EventType::kResize, "120x40"}).ok());
  ASSERT_TRUE(w.WriteEvent({2'500'000'000, EventType::kMarker, "ls"}).ok());
  std::istringstream lines(out);
  std::string header_line, l1, l2, l3;
  std::getline(lines, header_line);
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  boost::json::value hv = boost::json::parse(header_line);
  EXPECT_EQ(hv.at("version").as_int64(), 2);
  EXPECT_EQ(hv.at("width").as_int64(), 100);
  EXPECT_EQ(hv.at("height").as_int64(), 30);
  EXPECT_EQ(hv.at("timestamp").as_int64(), 1795680000);
  EXPECT_EQ(hv.at("command").as_string(), "sh -c ls");
  EXPECT_EQ(hv.at("title").as_string(), "demo");
  EXPECT_EQ(hv.at("env").at("TERM").as_string(), "xterm-256color");
  EXPECT_EQ(hv.at("env").at("SHELL").as_string(), "/bin/sh");
  EXPECT_DOUBLE_EQ(hv.at("idle_time_limit").as_double(), 2.5);
  EXPECT_EQ(l1, R"([1.234567, "o", "hi \"x\"\r\n\u001b[0m"])");
  EXPECT_EQ(l2, R"([2.000000, "r", "120x40"])");
  EXPECT_EQ(l3, R"([2.500000, "m", "ls"])");
}

TEST(AsciicastWriter, WritesV3IntervalsWithoutDrift) {
  std::string out;
  StringSink sink(&out);
  AsciicastWriter w(CastVersion::kV3, &sink);
  ASSERT_TRUE(w.WriteHeader(SampleHeader()).ok());
  // 100000 events every 1.0000004 ms: rounding each interval alone would lose 0.4 us per event
  // (40 ms in all); carried forward, the sum stays exact to the microsecond.
  const int64_t step = 1'000'000 + 400;
  for (int i = 1; i <= 100000; ++i) {
    ASSERT_TRUE(w.WriteEvent({i * step, EventType::kOutput, "."}).ok());
  }
  ASSERT_TRUE(w.WriteEvent({100000 * step, EventType::kExit, "3"}).ok());
  CastHeader h;
  CastVersion v;
  std::vector<Recorded> events = ReadBack(out, &h, &v);
  EXPECT_EQ(v, CastVersion::kV3);
  EXPECT_EQ(h.cols, 100);
  EXPECT_EQ(h.rows, 30);
  EXPECT_EQ(h.term_type, "xterm-256color");
  ASSERT_EQ(events.size(), 100001u);
  EXPECT_EQ(events[99999].t_ns, 100000 * step / 1000 * 1000);
  EXPECT_EQ(events.back().type, 'x');
  EXPECT_EQ(events.back().data, "3");
  EXPECT_NE(out.find("\"term\":{\"cols\":100,\"rows\":30,\"type\":\"xterm-256color\"}"),
            std::string::npos);
}

TEST(AsciicastWriter, HtmlSafeEscapesMarkupAndLineSeparators) {
  std::string out;
  StringSink sink(&out);
  AsciicastWriter w(CastVersion::kV2, &sink, /*html_safe=*/true);
  CastHeader h = SampleHeader();
  h.title = "</script><b>&";
  ASSERT_TRUE(w.WriteHeader(h).ok());
  ASSERT_TRUE(w.WriteEvent({0, EventType::kOutput,
                            "</script><script>alert(1)</script>\xE2\x80\xA8\xE2\x80\xA9&"})
                  .ok());
  EXPECT_EQ(out.find('<'), std::string::npos);
  EXPECT_EQ(out.find('>'), std::string::npos);
  EXPECT_EQ(out.find('&'), std::string::npos);
  EXPECT_EQ(out.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_NE(out.find("\\u003c/script\\u003e"), std::string::npos);
  // Still the same JSON.
  CastHeader back;
  std::vector<Recorded> events = ReadBack(out, &back);
  EXPECT_EQ(back.title, "</script><b>&");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "</script><script>alert(1)</script>\xE2\x80\xA8\xE2\x80\xA9&");
}

TEST(AsciicastReader, ReadsV2AndV3Files) {
  std::vector<Recorded> v2 = ReadBack(
      "{\"version\": 2, \"width\": 80, \"height\": 24, \"env\": {\"TERM\": \"xterm\"}}\n"
      "[0.5, \"o\", \"a\"]\n\n[1, \"i\", \"b\"]\n[1.25, \"q\", \"unknown\"]\n[2.000001, \"x\", "
      "0]\n");
  EXPECT_EQ(v2, (std::vector<Recorded>{
                    {500 * kMs, 'o', "a"}, {1000 * kMs, 'i', "b"}, {2'000'001'000, 'x', "0"}}));
  std::vector<Recorded> v3 = ReadBack(
      "{\"version\": 3, \"term\": {\"cols\": 80, \"rows\": 24}}\n"
      "# a comment\n[0.5, \"o\", \"a\"]\n[0.25, \"r\", \"90x30\"]\n[0.000001, \"m\", \"\"]\n");
  EXPECT_EQ(v3, (std::vector<Recorded>{
                    {500 * kMs, 'o', "a"}, {750 * kMs, 'r', "90x30"}, {750'001'000, 'm', ""}}));
}

TEST(AsciicastReader, RefusesWhatIsNotV2OrV3) {
  for (std::string bad :
       {std::string(""), std::string("not json\n"),
        std::string("{\"version\": 1, \"stdout\": []}\n"), std::string("[1, \"o\", \"x\"]\n")}) {
    std::istringstream in(bad);
    EXPECT_FALSE(AsciicastReader::Open(&in, "x.cast").ok()) << bad;
  }
  std::istringstream in("{\"version\": 2, \"width\": 80, \"height\": 24}\n[0.5, \"o\"]\n");
  auto r = AsciicastReader::Open(&in, "x.cast");
  ASSERT_TRUE(r.ok());
  Status st = (*r)->ReadEvents([](const Event&) { return Status::OK(); });
  EXPECT_EQ(st.message(), "x.cast line 2: an event must be [time, code, data]");
}

}  // namespace
}  // namespace podtape::player
