// player/vterm_util.h: the libvterm workarounds, on a real libvterm, without terminals or clocks.
#include "player/vterm_util.h"

#include <gtest/gtest.h>
#include <vterm.h>

#include <string>

namespace podtape::player {
namespace {

class Screen {
 public:
  Screen(int rows, int cols) : vt_(vterm_new(rows, cols)) {
    vterm_set_utf8(vt_, 1);
    screen_ = vterm_obtain_screen(vt_);
    PrimeVterm(vt_, screen_);
    vterm_screen_reset(screen_, 1);
  }
  ~Screen() { vterm_free(vt_); }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;
  VTerm* vt() { return vt_; }
  std::string Row(int row) {
    int rows = 0, cols = 0;
    vterm_get_size(vt_, &rows, &cols);
    std::string text(static_cast<size_t>(cols) * 4, '\0');
    VTermRect rect{row, row + 1, 0, cols};
    text.resize(vterm_screen_get_text(screen_, text.data(), text.size(), rect));
    return text.substr(0, text.find_last_not_of(' ') + 1);
  }
  bool Bold(int row, int col) {
    VTermScreenCell cell;
    vterm_screen_get_cell(screen_, VTermPos{row, col}, &cell);
    return cell.attrs.bold;
  }

 private:
  VTerm* vt_;
  VTermScreen* screen_;
};

std::string Params(int n, char sep) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += sep;
    s += '1';
  }
  return s;
}

TEST(VtermUtil, ClampsRecordedSizes) {
  int c = 1, r = 81;
  ClampVtermSize(&c, &r);
  EXPECT_EQ(c, kMinVtermCols);
  EXPECT_EQ(r, 81);
  c = 65535, r = 65535;
  ClampVtermSize(&c, &r);
  EXPECT_EQ(c, kMaxVtermCols);
  EXPECT_EQ(r, kMaxVtermRows);
  c = 0, r = -3;
  ClampVtermSize(&c, &r);
  EXPECT_EQ(c, 80);
  EXPECT_EQ(r, 24);
  c = 132, r = 43;
  ClampVtermSize(&c, &r);
  EXPECT_EQ(c, 132);
  EXPECT_EQ(r, 43);
}

// libvterm 0.1 crashes on a CSI sequence of 16 or more parameters; through VtermInput it takes
// them, whole or cut at any byte, and goes on rendering.
TEST(VtermUtil, LongCsiSequencesAreCutNotFatal) {
  // libvterm also reads ESC, any C0 control or byte of 0x80 and above, then "[" as a CSI.
  for (const std::string intro : {"\x1b[", "\x1b\xe8[", "\x1b\x07\x1b\xc2\x1b["}) {
    for (char sep : {';', ':'}) {
      for (int n : {16, 17, 40, 300}) {
        const std::string out = "a" + intro + Params(n, sep) + "mb\r\nafter";
        for (size_t cut = 0; cut <= out.size(); ++cut) {
          Screen s(5, 40);
          VtermInput in(s.vt());
          in.Write(std::string_view(out).substr(0, cut));
          in.Write(std::string_view(out).substr(cut));
          ASSERT_EQ(s.Row(0), "ab") << n << " params, cut at " << cut;
          ASSERT_EQ(s.Row(1), "after");
        }
      }
    }
  }
}

// Sequences within the limit reach libvterm unchanged: 15 parameters still set bold.
TEST(VtermUtil, SequencesWithinTheLimitPassUnchanged) {
  Screen s(5, 40);
  VtermInput in(s.vt());
  in.Write("\x1b[" + Params(VtermInput::kMaxCsiParams, ';') + "mB\x1b[0mn \x1b[31;1mC");
  EXPECT_EQ(s.Row(0), "Bn C");
  EXPECT_TRUE(s.Bold(0, 0));
  EXPECT_FALSE(s.Bold(0, 1));
  EXPECT_TRUE(s.Bold(0, 3));
}

// A resize that drops rows below the cursor left libvterm's cursor on a negative row, and the
// next erase, or character in insert mode, crashed (fuzzer findings): SetSize puts the cursor
// back on the screen.
TEST(VtermUtil, ResizeDroppingRowsBelowTheCursorKeepsItOnScreen) {
  for (const std::string after : {"\x1b[J", "\x1b[K", "\x1b[4hyZ", "\x1b[1J\x1b[2K"}) {
    Screen s(24, 57);
    VtermInput in(s.vt());
    in.Write("\n\n\nJ\x1b[H");
    in.SetSize(1, 57);
    in.Write(after + "\r\nok");
    EXPECT_EQ(s.Row(0), "ok") << after.substr(1);
  }
  // A cursor left of the new right edge, and one already on screen, stay as they are.
  Screen s(24, 80);
  VtermInput in(s.vt());
  in.Write("\x1b[3;70Hx");
  in.SetSize(5, 20);
  in.Write("\x1b[Ky");
  EXPECT_EQ(s.Row(2).back(), 'y');
}

// REP (repeat the last glyph) before any glyph looped forever in libvterm 0.1: a primed screen
// takes it (this test would hang without PrimeVterm).
TEST(VtermUtil, RepeatBeforeAnyGlyphReturns) {
  Screen s(5, 40);
  VtermInput in(s.vt());
  in.Write("\x1b[5b\x1b[3;4bok");
  EXPECT_EQ(s.Row(0).substr(s.Row(0).size() - 2), "ok");
}

}  // namespace
}  // namespace podtape::player
