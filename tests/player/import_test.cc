#include "player/import.h"

#include <gtest/gtest.h>

#include <sstream>

#include "player/export.h"

namespace podtape::player {
namespace {

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  std::string RoundTrip(const std::string& cast, ExportFormat format, store::SessionRow* row_out) {
    std::istringstream in(cast);
    store::SessionMeta base;
    base.local_user = "tester";
    auto r = ImportCast(&in, "in.cast", *store_, base, 42);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return "";
    auto row = store_->Find(r->session_id);
    EXPECT_TRUE(row.ok());
    if (row_out) *row_out = *row;
    std::string out;
    StringSink sink(&out);
    Status st = ExportSession(*store_, *row, {.format = format, .input = true}, &sink);
    EXPECT_TRUE(st.ok()) << st.message();
    return out;
  }
  std::unique_ptr<store::Store> store_;
};

TEST_F(ImportTest, V3RoundTripKeepsEveryEvent) {
  const std::string events =
      "[0.100000, \"o\", \"$ \"]\n"
      "[0.900000, \"i\", \"ls\\r\"]\n"
      "[0.000000, \"m\", \"chapter \\u003cone\\u003e\"]\n"
      "[0.001000, \"o\", \"a  b\\r\\n\\u001b[1mbold\\u001b[0m \xC5\xBC\"]\n"
      "[0.500000, \"r\", \"100x30\"]\n"
      "[1.250000, \"o\", \"$ \"]\n"
      "[0.000001, \"x\", \"2\"]\n";
  const std::string header =
      "{\"version\":3,\"term\":{\"cols\":90,\"rows\":20,\"type\":\"xterm\"},"
      "\"timestamp\":1795680000,\"command\":\"bash -l\",\"title\":\"demo\"}\n";
  store::SessionRow row;
  std::string out = RoundTrip(header + events, ExportFormat::kCastV3, &row);
  EXPECT_EQ(row.meta.kind, "import");
  EXPECT_EQ(row.meta.term_cols, 90);
  EXPECT_EQ(row.meta.title, "demo");
  EXPECT_EQ(row.end.exit_code, 2);
  EXPECT_EQ(row.end_reason, "completed");
  const std::string expected_events =
      "[0.100000, \"o\", \"$ \"]\n"
      "[0.900000, \"i\", \"ls\\r\"]\n"
      "[0.000000, \"m\", \"chapter <one>\"]\n"
      "[0.001000, \"o\", \"a  b\\r\\n\\u001b[1mbold\\u001b[0m \xC5\xBC\"]\n"
      "[0.500000, \"r\", \"100x30\"]\n"
      "[1.250000, \"o\", \"$ \"]\n"
      "[0.000001, \"x\", \"2\"]\n";
  ASSERT_NE(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.substr(out.find('\n') + 1), expected_events);
}

TEST_F(ImportTest, V2RoundTripKeepsEveryEvent) {
  const std::string cast =
      "{\"version\": 2, \"width\": 80, \"height\": 24, \"timestamp\": 1795680000, "
      "\"env\": {\"TERM\": \"xterm-256color\", \"SHELL\": \"/bin/bash\"}}\n"
      "[0.248848, \"o\", \"\\u001b[?2004h$ \"]\n"
      "[1.001000, \"i\", \"e\"]\n"
      "[1.001500, \"o\", \"e\"]\n"
      "[2.000000, \"m\", \"\"]\n"
      "[3.123457, \"r\", \"81x25\"]\n"
      "[4.000000, \"o\", \"\\r\\n\"]\n";
  std::string out = RoundTrip(cast, ExportFormat::kCastV2, nullptr);
  EXPECT_EQ(out.substr(out.find('\n') + 1), cast.substr(cast.find('\n') + 1));
}

TEST_F(ImportTest, RefusesBadFiles) {
  std::istringstream v1("{\"version\": 1, \"stdout\": [[0.1, \"x\"]]}\n");
  EXPECT_EQ(ImportCast(&v1, "old.cast", *store_, {}, 0).status().code(),
            Status::Code::kUnsupported);
  std::istringstream bad_resize(
      "{\"version\": 2, \"width\": 80, \"height\": 24}\n[1, \"r\", \"big\"]\n");
  Result<ImportResult> r = ImportCast(&bad_resize, "b.cast", *store_, {}, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "b.cast: resize event 'big' is not COLSxROWS");
}

}  // namespace
}  // namespace podtape::player
