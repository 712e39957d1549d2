#include "player/vterm_util.h"

#include <vterm.h>

#include <algorithm>
#include <cstring>

namespace podtape::player {

void ClampVtermSize(int* cols, int* rows) {
  *cols = *cols > 0 ? std::clamp(*cols, kMinVtermCols, kMaxVtermCols) : 80;
  *rows = *rows > 0 ? std::min(*rows, kMaxVtermRows) : 24;
}

void PrimeVterm(VTerm* vt, VTermScreen* screen) {
  vterm_screen_reset(screen, 1);  // libvterm takes no input before a first reset
  vterm_input_write(vt, "x", 1);
  vterm_screen_reset(screen, 1);
}

void VtermInput::Write(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  const char* span = p;  // the first byte not yet written
  while (p < end) {
    if (state_ == State::kGround) {
      const void* esc = std::memchr(p, 0x1b, static_cast<size_t>(end - p));
      if (esc == nullptr) break;
      p = static_cast<const char*>(esc) + 1;
      state_ = State::kEscape;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(*p);
    if (state_ == State::kEscape) {
      // libvterm stays in the escape through C0 controls (executed), intermediates and bytes
      // of 0x80 and above (ESC, a UTF-8 lead byte, then "[" is a CSI to it): only a final byte
      // ends it, and CAN or SUB cancels it.
      if (c == '[') {
        state_ = State::kCsi;
        separators_ = param_ = 0;
        has_param_4_ = private_ = false;
        intermediate_ = 0;
      } else if ((c >= 0x30 && c <= 0x7e) || c == 0x18 || c == 0x1a) {
        if (c == 'c') insert_mode_ = false;  // RIS
        state_ = State::kGround;
      }
      ++p;
      continue;
    }
    // In a CSI sequence: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, a final 0x40-0x7E;
    // ESC starts over, CAN and SUB cancel it.
    if (c >= '0' && c <= '9') {
      param_ = std::min(param_ * 10 + (c - '0'), 100000);
    } else if (c == ';' || c == ':') {
      has_param_4_ |= param_ == 4;
      param_ = 0;
      if (++separators_ >= kMaxCsiParams) {
        vterm_input_write(vt_, span, static_cast<size_t>(p - span));
        span = ++p;
        continue;
      }
    } else if (c >= 0x3c && c <= 0x3f) {
      private_ = true;
    } else if (c >= 0x20 && c <= 0x2f) {
      intermediate_ = static_cast<char>(c);
    } else if (c >= 0x40 && c <= 0x7e) {
      EndCsi(c);
      state_ = State::kGround;
    } else if (c == 0x1b) {
      state_ = State::kEscape;
    } else if (c == 0x18 || c == 0x1a) {
      state_ = State::kGround;
    }
    ++p;
  }
  vterm_input_write(vt_, span, static_cast<size_t>(end - span));
}

void VtermInput::EndCsi(unsigned char final_byte) {
  has_param_4_ |= param_ == 4;
  // (libvterm 0.1 leaves insert mode on through DECSTR, CSI ! p: so does this.)
  if (!private_ && intermediate_ == 0 && has_param_4_) {
    if (final_byte == 'h') insert_mode_ = true;
    if (final_byte == 'l') insert_mode_ = false;
  }
}

void VtermInput::SetSize(int rows, int cols) {
  if (insert_mode_) {
    // (Cuts short a sequence a write left unfinished, as libvterm would at any ESC.)
    vterm_input_write(vt_, "\x1b[4l", 4);
    state_ = State::kGround;
  }
  vterm_set_size(vt_, rows, cols);
  if (insert_mode_) vterm_input_write(vt_, "\x1b[4h", 4);
}

}  // namespace podtape::player
