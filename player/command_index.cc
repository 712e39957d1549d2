#include "player/command_index.h"

#include <vterm.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "player/frame_events.h"

namespace podtape::player {
namespace {

bool ShellSafe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_./=:,@%+-").find(c) != std::string_view::npos;
}

void TrimSpaces(std::string* s) {
  size_t end = s->find_last_not_of(' ');
  if (end == std::string::npos) {
    s->clear();
    return;
  }
  s->resize(end + 1);
  size_t start = s->find_first_not_of(' ');
  s->erase(0, start);
}

}  // namespace

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    if (!a.empty() && std::all_of(a.begin(), a.end(), ShellSafe)) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += '\'';
  }
  return out;
}

struct CommandExtractor::Impl {
  Options options;
  CommandSink sink;
  std::unique_ptr<FrameEventizer> events;
  bool argv_sent = false;
  Status error;

  // Non-TTY: the stdin line so far.
  std::string line;
  int64_t line_t_ns = 0;

  // TTY.
  VTerm* vt = nullptr;
  VTermScreen* screen = nullptr;
  VTermState* state = nullptr;
  int rows = 24, cols = 80;
  bool line_started = false;  // a keystroke of the current line was typed
  std::string prompt;         // text left of the cursor at the line's first keystroke
  bool pending = false;       // an Enter was typed; the line is taken at the output's line feed
  std::string pending_prompt;
  std::string pending_snapshot;  // the cursor's line at the Enter
  int64_t pending_t_ns = 0;
  bool last_was_cr = false;
  std::string text;  // reused

  ~Impl() {
    if (vt != nullptr) vterm_free(vt);
  }

  Status Emit(int64_t t_ns, std::string cmd) {
    if (cmd.empty()) return Status::OK();
    return sink(IndexedCommand{t_ns, std::move(cmd)});
  }

  Status SendArgv() {
    if (argv_sent) return Status::OK();
    argv_sent = true;
    if (options.argv.empty()) return Status::OK();
    return Emit(0, JoinArgv(options.argv));
  }

  std::string RowText(int row, int from_col, int to_col) {
    if (from_col >= to_col) return {};
    text.resize(static_cast<size_t>(to_col - from_col) * 4 * VTERM_MAX_CHARS_PER_CELL + 1);
    VTermRect rect{row, row + 1, from_col, to_col};
    size_t n = vterm_screen_get_text(screen, text.data(), text.size(), rect);
    return std::string(text.data(), std::min(n, text.size()));
  }

  bool RowFull(int row) {
    VTermScreenCell cell;
    if (vterm_screen_get_cell(screen, VTermPos{row, cols - 1}, &cell) == 0) return false;
    return cell.chars[0] != 0 && cell.chars[0] != ' ';
  }

  VTermPos Cursor() {
    VTermPos pos;
    vterm_state_get_cursorpos(state, &pos);
    return pos;
  }

  // The logical line under the cursor, wrapped rows joined.
  std::string CursorLine() {
    VTermPos pos = Cursor();
    int first = std::clamp(pos.row, 0, rows - 1);
    // libvterm 0.1 keeps no line-continuation flag: a row whose last column holds a
    // character is taken as wrapping onto the next one (at most 64 rows).
    while (first > 0 && pos.row - first < 64 && RowFull(first - 1)) --first;
    std::string out;
    for (int r = first; r <= std::clamp(pos.row, 0, rows - 1); ++r) {
      out += RowText(r, 0, cols);
    }
    return out;
  }

  // Takes the pending line: from the screen as it is now, or from the snapshot taken at the
  // Enter when `from_snapshot` (the next line's keys came before the output's line feed).
  Status TakePending(bool from_snapshot = false) {
    if (!pending) return Status::OK();
    pending = false;
    std::string cmd = from_snapshot ? std::move(pending_snapshot) : CursorLine();
    if (!pending_prompt.empty() && cmd.compare(0, pending_prompt.size(), pending_prompt) == 0) {
      cmd.erase(0, pending_prompt.size());
    }
    TrimSpaces(&cmd);
    return Emit(pending_t_ns, std::move(cmd));
  }

  Status OnOutput(std::string_view data) {
    // While a line waits, feed up to the first line feed, take the line, then the rest.
    while (pending) {
      size_t lf = data.find('\n');
      if (lf == std::string_view::npos) break;
      vterm_input_write(vt, data.data(), lf);
      PODTAPE_RETURN_IF_ERROR(TakePending());
      data.remove_prefix(lf);
    }
    vterm_input_write(vt, data.data(), data.size());
    return Status::OK();
  }

  Status OnTtyInput(int64_t t_ns, std::string_view data) {
    for (char c : data) {
      const bool cr = c == '\r';
      if (c == '\n' && last_was_cr) {
        last_was_cr = false;
        continue;
      }
      last_was_cr = cr;
      if (cr || c == '\n') {
        // An Enter typed before the previous line was taken: take that one as it was.
        PODTAPE_RETURN_IF_ERROR(TakePending(true));
        pending = true;
        pending_t_ns = t_ns;
        pending_snapshot = CursorLine();
        pending_prompt = line_started ? prompt : std::string();
        line_started = false;
        continue;
      }
      if (c == '\x03' || c == '\x04') {  // ^C abandons the line; ^D on an empty line ends it
        line_started = false;
        continue;
      }
      if (!line_started) {
        // The previous line's output never fed a line (read -s, a prompt printed on the same
        // row): it is taken as it was at its Enter.
        PODTAPE_RETURN_IF_ERROR(TakePending(true));
        line_started = true;
        VTermPos pos = Cursor();
        prompt.clear();
        if (pos.row >= 0 && pos.row < rows) prompt = RowText(pos.row, 0, std::min(pos.col, cols));
      }
    }
    return Status::OK();
  }

  Status OnPlainInput(int64_t t_ns, std::string_view data) {
    for (char c : data) {
      if (c != '\n') {
        line += c;
        line_t_ns = t_ns;
        continue;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::string cmd = std::move(line);
      line.clear();
      TrimSpaces(&cmd);
      PODTAPE_RETURN_IF_ERROR(Emit(t_ns, std::move(cmd)));
    }
    return Status::OK();
  }

  Status OnEvent(const Event& e) {
    PODTAPE_RETURN_IF_ERROR(SendArgv());
    switch (e.type) {
      case EventType::kOutput:
        return options.tty ? OnOutput(e.data) : Status::OK();
      case EventType::kInput:
        return options.tty ? OnTtyInput(e.t_ns, e.data) : OnPlainInput(e.t_ns, e.data);
      case EventType::kResize: {
        if (!options.tty) return Status::OK();
        size_t x = e.data.find('x');
        int c = 0, r = 0;
        if (x == std::string_view::npos) return Status::OK();
        std::from_chars(e.data.data(), e.data.data() + x, c);
        std::from_chars(e.data.data() + x + 1, e.data.data() + e.data.size(), r);
        if (c > 0 && r > 0 && c <= 4096 && r <= 4096) {
          vterm_set_size(vt, r, c);
          rows = r;
          cols = c;
        }
        return Status::OK();
      }
      default:
        return Status::OK();
    }
  }
};

CommandExtractor::Options CommandExtractor::ForSession(const store::SessionRow& row) {
  Options o;
  o.tty = row.meta.tty;
  o.cols = row.meta.term_cols;
  o.rows = row.meta.term_rows;
  if (row.meta.kind == "exec") o.argv = row.meta.command;
  return o;
}

CommandExtractor::CommandExtractor(Options options, CommandSink sink)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  m.sink = std::move(sink);
  if (m.options.tty) {
    m.cols = m.options.cols > 0 ? m.options.cols : 80;
    m.rows = m.options.rows > 0 ? m.options.rows : 24;
    m.vt = vterm_new(m.rows, m.cols);
    vterm_set_utf8(m.vt, 1);
    m.screen = vterm_obtain_screen(m.vt);
    m.state = vterm_obtain_state(m.vt);
    vterm_screen_reset(m.screen, 1);
  }
  FrameEventizer::Options eo;
  eo.input = true;
  eo.markers_from_input = false;
  m.events = std::make_unique<FrameEventizer>(
      eo, [impl = impl_.get()](const Event& e) { return impl->OnEvent(e); });
}

CommandExtractor::~CommandExtractor() = default;

Status CommandExtractor::OnFrame(const store::FrameView& frame) {
  return impl_->events->OnFrame(frame);
}

Status CommandExtractor::Finish() {
  Impl& m = *impl_;
  PODTAPE_RETURN_IF_ERROR(m.events->Finish(std::nullopt, m.events->last_t_ns()));
  PODTAPE_RETURN_IF_ERROR(m.SendArgv());
  if (m.options.tty) return m.TakePending();
  std::string cmd = std::move(m.line);
  m.line.clear();
  TrimSpaces(&cmd);
  return m.Emit(m.line_t_ns, std::move(cmd));
}

Result<std::vector<IndexedCommand>> ExtractCommands(store::Store& store,
                                                    const store::SessionRow& row) {
  std::vector<IndexedCommand> out;
  CommandExtractor x(CommandExtractor::ForSession(row), [&](const IndexedCommand& c) {
    out.push_back(c);
    return Status::OK();
  });
  PODTAPE_RETURN_IF_ERROR(
      store.ReadFrames(row.meta.id, [&](const store::FrameView& f) { return x.OnFrame(f); }));
  PODTAPE_RETURN_IF_ERROR(x.Finish());
  return out;
}

}  // namespace podtape::player
