#include "player/vterm_util.h"

#include <vterm.h>

#include <algorithm>
#include <cstdio>
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
        separators_ = 0;
      } else if ((c >= 0x30 && c <= 0x7e) || c == 0x18 || c == 0x1a) {
        state_ = State::kGround;
      }
      ++p;
      continue;
    }
    // In a CSI sequence: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F, a final 0x40-0x7E;
    // ESC starts over, CAN and SUB cancel it.
    if (c == ';' || c == ':') {
      if (++separators_ >= kMaxCsiParams) {
        vterm_input_write(vt_, span, static_cast<size_t>(p - span));
        span = ++p;
        continue;
      }
    } else if ((c >= 0x40 && c <= 0x7e) || c == 0x18 || c == 0x1a) {
      state_ = State::kGround;
    } else if (c == 0x1b) {
      state_ = State::kEscape;
    }
    ++p;
  }
  vterm_input_write(vt_, span, static_cast<size_t>(end - span));
}

void VtermInput::SetSize(int rows, int cols) {
  vterm_set_size(vt_, rows, cols);
  VTermPos pos;
  vterm_state_get_cursorpos(vterm_obtain_state(vt_), &pos);
  if (pos.row >= 0 && pos.row < rows && pos.col >= 0 && pos.col < cols) return;
  // CUP to the nearest cell on the screen. (It cuts short a sequence a write left unfinished,
  // as libvterm would at any ESC.)
  char cup[32];
  const int n = std::snprintf(cup, sizeof(cup), "\x1b[%d;%dH", std::clamp(pos.row, 0, rows - 1) + 1,
                              std::clamp(pos.col, 0, cols - 1) + 1);
  vterm_input_write(vt_, cup, static_cast<size_t>(n));
  state_ = State::kGround;
}

}  // namespace podtape::player
