#include "player/utf8_decoder.h"

#include <gtest/gtest.h>

#include <string>

namespace podtape::player {
namespace {

std::string DecodeAll(std::initializer_list<std::string_view> chunks) {
  Utf8Decoder d;
  std::string out;
  for (std::string_view c : chunks) d.Feed(c, &out);
  d.Flush(&out);
  return out;
}

TEST(Utf8Decoder, PassesAsciiAndValidText) {
  EXPECT_EQ(DecodeAll({"hello\r\n"}), "hello\r\n");
  EXPECT_EQ(DecodeAll({"za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 \xF0\x9F\x98\x80"}),
            "za\xC5\xBC\xC3\xB3\xC5\x82\xC4\x87 \xF0\x9F\x98\x80");
}

TEST(Utf8Decoder, JoinsACharacterSplitAcrossFrames) {
  Utf8Decoder d;
  std::string out;
  d.Feed("a\xC5", &out);
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(d.pending());
  d.Feed(
      "\xBC"
      "b",
      &out);
  EXPECT_EQ(out,
            "a\xC5\xBC"
            "b");
  // A four-byte emoji split into single bytes.
  EXPECT_EQ(DecodeAll({"\xF0", "\x9F", "\x98", "\x80"}), "\xF0\x9F\x98\x80");
  EXPECT_EQ(DecodeAll({"\xE2\x82", "\xAC"}), "\xE2\x82\xAC");
}

TEST(Utf8Decoder, ReplacesInvalidBytesOnePerMaximalSubpart) {
  const std::string r(kReplacementChar);
  EXPECT_EQ(DecodeAll({"\xFF"}), r);
  EXPECT_EQ(DecodeAll({"a\x80"
                       "b"}),
            "a" + r + "b");
  // A lead byte cut short by ASCII: one U+FFFD, the ASCII kept.
  EXPECT_EQ(DecodeAll({"\xE2\x82"
                       "x"}),
            r + "x");
  // Overlong encodings and surrogates are invalid.
  EXPECT_EQ(DecodeAll({"\xC0\xAF"}), r + r);
  EXPECT_EQ(DecodeAll({"\xE0\x80\xAF"}), r + r + r);
  EXPECT_EQ(DecodeAll({"\xED\xA0\x80"}), r + r + r);
  // Beyond U+10FFFF.
  EXPECT_EQ(DecodeAll({"\xF4\x90\x80\x80"}), r + r + r + r);
  // Split invalid sequence across frames behaves the same as whole.
  EXPECT_EQ(DecodeAll({"\xE2", "\x82", "x"}), r + "x");
}

TEST(Utf8Decoder, FlushReplacesAnIncompleteTail) {
  Utf8Decoder d;
  std::string out;
  d.Feed("ok\xF0\x9F", &out);
  EXPECT_EQ(out, "ok");
  d.Flush(&out);
  EXPECT_EQ(out, "ok" + std::string(kReplacementChar));
  EXPECT_FALSE(d.pending());
}

TEST(Utf8Decoder, EmptyFeedsChangeNothing) {
  EXPECT_EQ(DecodeAll({"", "\xC3", "", "\xA9", ""}), "\xC3\xA9");
}

}  // namespace
}  // namespace podtape::player
