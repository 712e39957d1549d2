#include "player/vterm_util.h"

#include <vterm.h>

#include <algorithm>

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

}  // namespace podtape::player
