// The streaming UTF-8 decoder (player/utf8_decoder.h), differentially: whatever the frames' cuts,
// its output must be what the documented rule gives for the whole stream, computed here by an
// independent reference over Unicode Table 3-7: valid characters copied as they are, each maximal
// invalid subpart (a lone bad byte, or the longest prefix of a well-formed sequence that stops
// short) replaced by one U+FFFD. So the output is valid UTF-8, nothing valid is dropped, and
// nothing is invented.
// Input: [cut seed][stream bytes...]; the seed sets the piece lengths (0-8 bytes, varying).
#include <fmt/format.h>

#include "fuzz/harness.h"
#include "player/utf8_decoder.h"

namespace podtape::fuzz {
namespace {

std::string Reference(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool complete = false;
    const size_t n = ValidUtf8Prefix(s, i, &complete);
    if (complete) {
      out.append(s.substr(i, n));
    } else {
      out.append(player::kReplacementChar);
    }
    i += std::max<size_t>(n, 1);
  }
  return out;
}

}  // namespace

std::string FuzzUtf8Decoder(Input data) {
  ByteReader in(data);
  uint32_t cut = in.U8();
  const std::string_view stream = in.Rest();
  const std::string want = Reference(stream);

  player::Utf8Decoder pieces;
  std::string got;
  for (size_t at = 0; at < stream.size();) {
    cut = cut * 1103515245u + 12345u;  // a fixed LCG: the same input always cuts the same way
    const size_t n = std::min<size_t>((cut >> 16) % 9, stream.size() - at);  // empty pieces too
    const size_t before = got.size();
    pieces.Feed(stream.substr(at, n), &got);
    at += n;
    // What each Feed appends is whole characters only.
    if (!IsValidUtf8(std::string_view(got).substr(before))) {
      return fmt::format("a Feed appended invalid UTF-8 (piece ending at byte {})", at);
    }
  }
  pieces.Flush(&got);
  if (pieces.pending()) return "pending after Flush";

  player::Utf8Decoder whole;
  std::string got_whole;
  whole.Feed(stream, &got_whole);
  whole.Flush(&got_whole);

  if (!IsValidUtf8(got)) return "output is not valid UTF-8";
  if (got_whole != want) {
    return fmt::format("whole stream: {} bytes out, reference {}", got_whole.size(), want.size());
  }
  if (got != want)
    return fmt::format("cut stream: {} bytes out, reference {}", got.size(), want.size());
  if (IsValidUtf8(stream) && got != stream) return "valid UTF-8 was changed";
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzUtf8Decoder)
