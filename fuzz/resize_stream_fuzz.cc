// The resize stream parser (recorder/channel_codec.h ResizeStreamParser): channel 4 is one JSON
// stream whatever the frames' cuts, so feeding the bytes whole and feeding them cut into pieces
// must give the same sizes and the same error (a JSON syntax error may be worded differently).
// Input: [cut seed][stream bytes...]; the seed sets the piece lengths (1-16 bytes, varying).
#include <fmt/format.h>

#include <vector>

#include "fuzz/harness.h"
#include "recorder/channel_codec.h"

namespace podtape::fuzz {

using codec::TerminalSize;

std::string FuzzResizeStream(Input data) {
  ByteReader in(data);
  uint32_t cut = in.U8() | 1u;
  const std::string_view stream = in.Rest();

  codec::ResizeStreamParser whole;
  std::vector<TerminalSize> whole_sizes;
  const Status whole_st = whole.Feed(stream, &whole_sizes);

  codec::ResizeStreamParser pieces;
  std::vector<TerminalSize> piece_sizes;
  Status piece_st;
  for (size_t at = 0; at < stream.size() && piece_st.ok();) {
    cut = cut * 1103515245u + 12345u;  // a fixed LCG: the same input always cuts the same way
    const size_t n = std::min<size_t>(1 + (cut >> 16) % 16, stream.size() - at);
    piece_st = pieces.Feed(stream.substr(at, n), &piece_sizes);
    at += n;
  }

  if (whole_st.ok() != piece_st.ok()) {
    return fmt::format("whole stream {} but cut stream {}", whole_st.ok() ? "ok" : "failed",
                       piece_st.ok() ? "ok" : "failed: " + piece_st.message());
  }
  if (!whole_st.ok()) {
    if (whole_st.code() != Status::Code::kProtocol) return "resize error is not a protocol error";
    // Boost.JSON (1.81) may name a syntax error differently depending on where the text is cut
    // ("illegal leading surrogate" whole, "illegal trailing surrogate" cut, for "\uDDDD..."):
    // the syntax errors must agree on being syntax errors; every other error word for word.
    const std::string_view kSyntax = "invalid resize json: ";
    const bool both_syntax =
        whole_st.message().starts_with(kSyntax) && piece_st.message().starts_with(kSyntax);
    if (!both_syntax && whole_st.message() != piece_st.message()) {
      return "different errors: \"" + whole_st.message() + "\" whole, \"" + piece_st.message() +
             "\" cut";
    }
    // A failed parser stays failed with the same error.
    std::vector<TerminalSize> more;
    const Status again = whole.Feed("{\"Width\":1,\"Height\":1}", &more);
    if (again.ok() || again.message() != whole_st.message() || !more.empty()) {
      return "a failed parser accepted more input";
    }
  }
  if (whole_sizes != piece_sizes) {
    return fmt::format("{} sizes whole, {} cut", whole_sizes.size(), piece_sizes.size());
  }
  // Every size decoded is one EncodeResize writes and reads back.
  for (const TerminalSize& s : whole_sizes) {
    codec::ResizeStreamParser again;
    std::vector<TerminalSize> one;
    if (!again.Feed(codec::EncodeResize(s), &one).ok() || one.size() != 1 || one[0] != s) {
      return fmt::format("size {}x{} does not survive EncodeResize", s.width, s.height);
    }
  }
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzResizeStream)
