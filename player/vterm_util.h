// Workarounds for libvterm 0.1 (Debian 12's libvterm0 0.1.4), shared by everything that renders a
// recorded session through it (the command index, the txt export). Each was found by fuzzing the
// command extractor; without them, output a pod prints could crash or hang the indexer (and so
// every search that catches up on it) and the txt export.
#ifndef PODTAPE_PLAYER_VTERM_UTIL_H_
#define PODTAPE_PLAYER_VTERM_UTIL_H_

#include <string_view>

struct VTerm;
struct VTermScreen;

namespace podtape::player {

// The terminal size libvterm is given for a recorded one: at least kMinVtermCols columns
// (libvterm writes through a null pointer when a wide character meets a 1-column screen) and at
// most kMaxVtermCols x kMaxVtermRows (a recorded 65535x65535 would ask for gigabytes of cells).
// 0 or less means the default 80x24.
inline constexpr int kMinVtermCols = 2;
inline constexpr int kMaxVtermCols = 1000;
inline constexpr int kMaxVtermRows = 500;
void ClampVtermSize(int* cols, int* rows);

// Resets the screen, writes one glyph and resets it again, leaving it blank as new but for one
// thing: REP (CSI Ps b, repeat the last glyph) before any glyph was ever written loops forever in
// libvterm. Call once, right after vterm_obtain_screen, before setting screen callbacks.
void PrimeVterm(VTerm* vt, VTermScreen* screen);

// Writes output to a VTerm, and resizes it, around two libvterm faults:
// - every CSI sequence (ESC [ ...) is cut to at most kMaxCsiParams parameters: libvterm writes
//   past its 16-entry argument array from the 16th parameter (";" or ":" separated), a crash. The
//   separators past the limit are dropped (their digits join the last parameter kept);
// - a resize that drops rows below the cursor leaves libvterm's cursor on a negative row (the
//   text scrolls up, the cursor with it), and the next erase or insert writes through it, a
//   crash: SetSize moves the cursor back onto the screen.
// Carries its state across writes, so a sequence may be cut anywhere. Over plain text it costs
// one memchr for ESC. Not thread-safe; owns nothing (the VTerm outlives it).
class VtermInput {
 public:
  static constexpr int kMaxCsiParams = 15;
  explicit VtermInput(VTerm* vt) : vt_(vt) {}
  void Write(std::string_view data);
  void SetSize(int rows, int cols);

 private:
  enum class State : unsigned char { kGround, kEscape, kCsi };
  VTerm* vt_;
  State state_ = State::kGround;
  int separators_ = 0;  // in the current CSI sequence
};

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_VTERM_UTIL_H_
