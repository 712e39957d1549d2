// A streaming UTF-8 decoder for one byte stream (stdout, stderr or stdin of a session).
//
// Frames cut the stream anywhere, so a character may be split across two frames: the decoder
// keeps the incomplete tail (at most 3 bytes) and completes it with the next Feed. Invalid bytes
// become U+FFFD, one per maximal invalid subpart (the WHATWG / Unicode "substitution of maximal
// subparts" rule, as browsers and asciinema do). Nothing is dropped: Flush emits U+FFFD for an
// incomplete tail left at the end of the stream.
//
// Not thread-safe; one instance per stream.
#ifndef PODTAPE_PLAYER_UTF8_DECODER_H_
#define PODTAPE_PLAYER_UTF8_DECODER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace podtape::player {

class Utf8Decoder {
 public:
  // Appends the valid UTF-8 decoded from `bytes` to *out (never clears it). Complete characters
  // are copied as they are; a character that `bytes` leaves incomplete is held back.
  void Feed(std::string_view bytes, std::string* out);
  // Ends the stream: an incomplete held-back character becomes one U+FFFD.
  void Flush(std::string* out);
  // True when bytes are held back waiting for the rest of a character.
  bool pending() const { return needed_ != 0; }

 private:
  void Reset() {
    needed_ = 0;
    seen_ = 0;
    lower_ = 0x80;
    upper_ = 0xBF;
  }
  uint8_t pending_[4] = {};
  uint8_t needed_ = 0;  // continuation bytes the current character still needs in total
  uint8_t seen_ = 0;    // continuation bytes already seen
  uint8_t lower_ = 0x80;
  uint8_t upper_ = 0xBF;
};

// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_UTF8_DECODER_H_
