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
// - a resize while insert mode (IRM, CSI 4 h) is on leaves libvterm writing through a stale row
//   once rows were dropped, a crash: SetSize turns insert mode off around the resize. So this
//   follows IRM as libvterm does (CSI 4 h / l, and RIS).
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
  void EndCsi(unsigned char final_byte);
  VTerm* vt_;
  State state_ = State::kGround;
  // The current CSI sequence.
  int separators_ = 0;
  int param_ = 0;             // the parameter being read (capped)
  bool has_param_4_ = false;  // a parameter read so far was 4
  bool private_ = false;      // a parameter byte of 0x3C-0x3F ("?" ">" "=" "<") came
  char intermediate_ = 0;     // the last intermediate byte (0x20-0x2F), 0 when none
  bool insert_mode_ = false;
};

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_VTERM_UTIL_H_
