#include "player/utf8_decoder.h"

#include <cstring>

namespace podtape::player {

void Utf8Decoder::Feed(std::string_view bytes, std::string* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    if (needed_ == 0) {
      // Fast path: copy a run of ASCII and complete characters at once.
      size_t run = i;
      // Eight bytes at a time while none has its high bit set.
      while (run + 8 <= n) {
        uint64_t w;
        std::memcpy(&w, p + run, 8);
        if (w & 0x8080808080808080ull) break;
        run += 8;
      }
      while (run < n && p[run] < 0x80) ++run;
      if (run > i) {
        out->append(bytes.data() + i, run - i);
        i = run;
        continue;
      }
      const uint8_t b = p[i];
      if (b >= 0xC2 && b <= 0xDF) {
        needed_ = 1;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower_ = 0xA0;
        if (b == 0xED) upper_ = 0x9F;  // no UTF-16 surrogates
        needed_ = 2;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower_ = 0x90;
        if (b == 0xF4) upper_ = 0x8F;  // nothing above U+10FFFF
        needed_ = 3;
      } else {
        out->append(kReplacementChar);
        ++i;
        continue;
      }
      pending_[0] = b;
      seen_ = 0;
      ++i;
      continue;
    }
    const uint8_t b = p[i];
    if (b < lower_ || b > upper_) {
      // The held-back bytes are a maximal invalid subpart; `b` starts afresh.
      Reset();
      out->append(kReplacementChar);
      continue;
    }
    lower_ = 0x80;
    upper_ = 0xBF;
    pending_[++seen_] = b;
    ++i;
    if (seen_ == needed_) {
      out->append(reinterpret_cast<const char*>(pending_), needed_ + 1);
      Reset();
    }
  }
}

void Utf8Decoder::Flush(std::string* out) {
  if (needed_ != 0) {
    out->append(kReplacementChar);
    Reset();
  }
}

}  // namespace podtape::player
