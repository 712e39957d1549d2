#include "player/command_index.h"

#include <vterm.h>

#include <algorithm>
#include <deque>
#include <string_view>

#include "player/frame_events.h"
#include "player/timeline.h"
#include "player/vterm_util.h"

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

constexpr size_t kMaxAheadLines = 64;  // typed-ahead lines kept waiting for their echo

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
  std::unique_ptr<VtermInput> input;  // writes to vt
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
  bool output_since_enter = true;  // output came after the last Enter
  std::string text;                // reused
  int64_t last_t_ns = 0;           // the latest event's time

  // Typeahead: lines typed before the output answered the previous Enter. Each is recognised by
  // its echo: at an output line feed, the cursor's line reading `prompt + keys` exactly.
  struct AheadLine {
    int64_t t_ns = 0;    // its Enter
    std::string prompt;  // the prompt the line is expected after
    std::string keys;    // what was typed (printable keys only)
  };
  bool typing_ahead = false;   // the line being typed started ahead of the output
  bool ahead_readable = true;  // it holds only printable keys, so its echo can be predicted
  std::string ahead_keys;
  std::deque<AheadLine> ahead;

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

  // At an output line feed with lines typed ahead: the first whose echo the cursor's line shows
  // is taken (those before it never showed: dropped, as unechoed input is).
  Status MatchAhead() {
    std::string shown = CursorLine();
    size_t end = shown.find_last_not_of(' ');
    shown.resize(end == std::string::npos ? 0 : end + 1);
    for (size_t i = 0; i < ahead.size(); ++i) {
      const AheadLine& a = ahead[i];
      // After its prompt (the shell's echo), or alone at the start of a line (the terminal's own
      // echo of input typed while the previous command ran, before any prompt).
      const bool after_prompt = shown.size() == a.prompt.size() + a.keys.size() &&
                                shown.compare(0, a.prompt.size(), a.prompt) == 0 &&
                                shown.compare(a.prompt.size(), std::string::npos, a.keys) == 0;
      if (!after_prompt && shown != a.keys) continue;
      std::string cmd = after_prompt ? shown.substr(a.prompt.size()) : shown;
      const int64_t t_ns = a.t_ns;
      ahead.erase(ahead.begin(), ahead.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      TrimSpaces(&cmd);
      return Emit(t_ns, std::move(cmd));
    }
    return Status::OK();
  }

  Status OnOutput(std::string_view data) {
    if (!data.empty()) output_since_enter = true;
    // While a line waits, feed up to each line feed and take the line there, then the rest.
    while (pending || !ahead.empty()) {
      size_t lf = data.find('\n');
      if (lf == std::string_view::npos) break;
      input->Write(data.substr(0, lf));
      if (pending) {
        PODTAPE_RETURN_IF_ERROR(TakePending());
      } else {
        PODTAPE_RETURN_IF_ERROR(MatchAhead());
      }
      input->Write(data.substr(lf, 1));
      data.remove_prefix(lf + 1);
    }
    input->Write(data);
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
        if (typing_ahead) {
          if (ahead_readable && !ahead_keys.empty()) {
            if (ahead.size() >= kMaxAheadLines) ahead.pop_front();
            ahead.push_back({t_ns, prompt, std::move(ahead_keys)});
          }
          ahead_keys.clear();
          typing_ahead = false;
          line_started = false;
          continue;
        }
        if (!line_started && !ahead.empty()) {
          // An empty line while typed-ahead lines still wait for their echo: typed ahead as
          // well (an empty line is never a command). Starting a pending line here would let it
          // be taken before the earlier lines still waiting, out of time order.
          continue;
        }
        // An Enter typed before the previous line was taken: take that one as it was.
        PODTAPE_RETURN_IF_ERROR(TakePending(true));
        pending = true;
        pending_t_ns = t_ns;
        pending_snapshot = CursorLine();
        pending_prompt = line_started ? prompt : std::string();
        line_started = false;
        output_since_enter = false;
        continue;
      }
      if (c == '\x03' || c == '\x04') {  // ^C abandons the line; ^D on an empty line ends it
        line_started = false;
        typing_ahead = false;
        ahead_keys.clear();
        continue;
      }
      if (!line_started) {
        line_started = true;
        if ((pending || !ahead.empty()) && !output_since_enter) {
          // Typed ahead: nothing came back since the last Enter, so the screen cannot show
          // this line yet. It is left to its echo (MatchAhead), expected after the same prompt.
          typing_ahead = true;
          ahead_readable = true;
          ahead_keys.clear();
          if (pending) prompt = pending_prompt;
        } else {
          // The previous line's output never fed a line (read -s, a prompt printed on the same
          // row): it is taken as it was at its Enter. Lines typed ahead and never echoed
          // since are dropped.
          PODTAPE_RETURN_IF_ERROR(TakePending(true));
          ahead.clear();
          VTermPos pos = Cursor();
          prompt.clear();
          if (pos.row >= 0 && pos.row < rows) {
            prompt = RowText(pos.row, 0, std::min(pos.col, cols));
          }
        }
      }
      if (typing_ahead) {
        if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') {
          ahead_readable = false;  // an editing key: the echo cannot be predicted
        } else {
          ahead_keys += c;
        }
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

  // No command still to come is earlier than this (session ns).
  int64_t Watermark() const {
    if (!argv_sent && !options.argv.empty()) return 0;
    if (!options.tty) return line.empty() ? last_t_ns : line_t_ns;
    if (pending) return pending_t_ns;
    if (!ahead.empty()) return ahead.front().t_ns;
    return last_t_ns;
  }

  Status OnEvent(const Event& e) {
    last_t_ns = std::max(last_t_ns, e.t_ns);
    PODTAPE_RETURN_IF_ERROR(SendArgv());
    switch (e.type) {
      case EventType::kOutput:
        return options.tty ? OnOutput(e.data) : Status::OK();
      case EventType::kInput:
        return options.tty ? OnTtyInput(e.t_ns, e.data) : OnPlainInput(e.t_ns, e.data);
      case EventType::kResize: {
        if (!options.tty) return Status::OK();
        int c = 0, r = 0;
        if (!ParseSize(e.data, &c, &r)) return Status::OK();
        ClampVtermSize(&c, &r);
        input->SetSize(r, c);
        rows = r;
        cols = c;
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
    m.cols = m.options.cols;
    m.rows = m.options.rows;
    ClampVtermSize(&m.cols, &m.rows);
    m.vt = vterm_new(m.rows, m.cols);
    vterm_set_utf8(m.vt, 1);
    m.screen = vterm_obtain_screen(m.vt);
    m.state = vterm_obtain_state(m.vt);
    PrimeVterm(m.vt, m.screen);
    vterm_screen_reset(m.screen, 1);
    m.input = std::make_unique<VtermInput>(m.vt);
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

int64_t CommandExtractor::Watermark() const { return impl_->Watermark(); }

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
