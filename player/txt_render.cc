#include "player/txt_render.h"

#include <vterm.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "player/time_spec.h"
#include "player/timeline.h"
#include "player/vterm_util.h"

namespace podtape::player {
namespace {

constexpr std::string_view kEraseDisplay = "\x1b[2J";

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Appends a row of cells as text, trailing blanks trimmed.
void AppendCells(const VTermScreenCell* cells, int cols, std::string* out) {
  const size_t start = out->size();
  size_t keep = start;
  for (int c = 0; c < cols; ++c) {
    const VTermScreenCell& cell = cells[c];
    if (cell.chars[0] == static_cast<uint32_t>(-1)) continue;  // right half of a wide character
    if (cell.chars[0] == 0) {
      out->push_back(' ');
      continue;
    }
    for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && cell.chars[i] != 0; ++i) {
      AppendUtf8(cell.chars[i], out);
    }
    keep = out->size();
    c += std::max<int>(cell.width, 1) - 1;
  }
  out->resize(keep);
}

}  // namespace

struct TxtRenderer::Impl {
  VTerm* vt = nullptr;
  std::unique_ptr<VtermInput> input;  // writes to vt
  VTermScreen* screen = nullptr;
  int cols = 80;
  int rows = 24;
  bool timestamps = false;
  ByteSink* out = nullptr;
  Status error;
  int64_t now_ns = 0;
  std::vector<int64_t> row_time;  // when each row was first written; -1 while blank
  size_t erase_match = 0;         // bytes of kEraseDisplay matched so far
  std::string line;
  std::vector<VTermScreenCell> cells;

  void WriteLine(int64_t t_ns, std::string_view text) {
    if (!error.ok()) return;
    line.clear();
    if (timestamps) {
      line += '[';
      line += FormatOffset(std::max<int64_t>(t_ns, 0));
      line += "] ";
    }
    line.append(text);
    line += '\n';
    error = out->Write(line);
  }

  bool RowBlank(int row) {
    VTermScreenCell cell;
    for (int c = 0; c < cols; ++c) {
      vterm_screen_get_cell(screen, VTermPos{row, c}, &cell);
      if (cell.chars[0] != 0 && cell.chars[0] != ' ' &&
          cell.chars[0] != static_cast<uint32_t>(-1)) {
        return false;
      }
    }
    return true;
  }

  std::string RowText(int row) {
    cells.resize(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) vterm_screen_get_cell(screen, VTermPos{row, c}, &cells[c]);
    std::string text;
    AppendCells(cells.data(), cols, &text);
    return text;
  }

  // Writes the visible screen up to its last non-blank row.
  void DumpScreen() {
    vterm_screen_flush_damage(screen);
    int last = -1;
    for (int r = rows - 1; r >= 0; --r) {
      if (!RowBlank(r)) {
        last = r;
        break;
      }
    }
    for (int r = 0; r <= last; ++r) {
      std::string text = RowText(r);
      WriteLine(row_time[r] >= 0 ? row_time[r] : now_ns, text);
    }
  }

  static int OnDamage(VTermRect rect, void* user) {
    auto* self = static_cast<Impl*>(user);
    for (int r = std::max(rect.start_row, 0); r < std::min(rect.end_row, self->rows); ++r) {
      if (self->row_time[r] < 0 && !self->RowBlank(r)) self->row_time[r] = self->now_ns;
    }
    return 1;
  }

  static int OnMoveRect(VTermRect dest, VTermRect src, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (dest.start_col != 0 || dest.end_col != self->cols) return 1;  // partial-width: keep
    std::vector<int64_t> moved = self->row_time;
    for (int r = src.start_row; r < src.end_row; ++r) {
      if (r >= 0 && r < self->rows) moved[r] = -1;
    }
    for (int i = 0; i < src.end_row - src.start_row; ++i) {
      const int from = src.start_row + i;
      const int to = dest.start_row + i;
      if (from >= 0 && from < self->rows && to >= 0 && to < self->rows) {
        moved[to] = self->row_time[from];
      }
    }
    self->row_time = std::move(moved);
    return 1;
  }

  static int OnPushLine(int cols, const VTermScreenCell* cells, void* user) {
    auto* self = static_cast<Impl*>(user);
    std::string text;
    AppendCells(cells, cols, &text);
    self->WriteLine(self->row_time[0] >= 0 ? self->row_time[0] : self->now_ns, text);
    return 1;
  }

  static int OnResize(int rows, int cols, void* user) {
    auto* self = static_cast<Impl*>(user);
    self->rows = rows;
    self->cols = cols;
    self->row_time.resize(static_cast<size_t>(rows), -1);
    return 1;
  }

  // Feeds output, writing the screen out before each ESC[2J takes effect.
  void Feed(std::string_view data) {
    size_t start = 0;
    for (size_t i = 0; i < data.size(); ++i) {
      const char b = data[i];
      if (b == kEraseDisplay[erase_match]) {
        if (++erase_match == kEraseDisplay.size()) {
          erase_match = 0;
          // Everything before the final 'J' is in; the clear takes effect with the 'J'.
          input->Write(data.substr(start, i - start));
          DumpScreen();
          std::fill(row_time.begin(), row_time.end(), -1);
          start = i;
        }
      } else {
        erase_match = b == kEraseDisplay[0] ? 1 : 0;
      }
    }
    input->Write(data.substr(start));
  }
};

TxtRenderer::TxtRenderer(int cols, int rows, bool timestamps, ByteSink* out)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  ClampVtermSize(&cols, &rows);
  m.cols = cols;
  m.rows = rows;
  m.timestamps = timestamps;
  m.out = out;
  m.row_time.assign(static_cast<size_t>(m.rows), -1);
  m.vt = vterm_new(m.rows, m.cols);
  vterm_set_utf8(m.vt, 1);
  m.screen = vterm_obtain_screen(m.vt);
  PrimeVterm(m.vt, m.screen);
  static const VTermScreenCallbacks kCallbacks = {
      .damage = &Impl::OnDamage,
      .moverect = &Impl::OnMoveRect,
      .movecursor = nullptr,
      .settermprop = nullptr,
      .bell = nullptr,
      .resize = &Impl::OnResize,
      .sb_pushline = &Impl::OnPushLine,
      .sb_popline = nullptr,
  };
  vterm_screen_set_callbacks(m.screen, &kCallbacks, &m);
  vterm_screen_set_damage_merge(m.screen, VTERM_DAMAGE_ROW);
  vterm_screen_reset(m.screen, 1);
  m.input = std::make_unique<VtermInput>(m.vt);
}

TxtRenderer::~TxtRenderer() { vterm_free(impl_->vt); }

Status TxtRenderer::OnEvent(const Event& e) {
  Impl& m = *impl_;
  m.now_ns = e.t_ns;
  if (e.type == EventType::kOutput) {
    m.Feed(e.data);
    // Row times come from damage callbacks: deliver them while now_ns is this event's time.
    if (m.timestamps) vterm_screen_flush_damage(m.screen);
  } else if (e.type == EventType::kResize) {
    int cols = 0, rows = 0;
    if (ParseSize(e.data, &cols, &rows)) ClampVtermSize(&cols, &rows);
    if (cols > 0 && (cols != m.cols || rows != m.rows)) {
      vterm_screen_flush_damage(m.screen);
      m.input->SetSize(rows, cols);
    }
  }
  return m.error;
}

Status TxtRenderer::Finish() {
  impl_->DumpScreen();
  return impl_->error;
}

}  // namespace podtape::player
