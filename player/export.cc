#include "player/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "player/command_index.h"
#include "player/frame_events.h"
#include "player/txt_render.h"
#include "player/web_assets.h"
#include "recorder/channel_codec.h"

namespace podtape::player {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  if (name == "cast" || name == "cast-v3") return ExportFormat::kCastV3;
  if (name == "cast-v2") return ExportFormat::kCastV2;
  if (name == "html") return ExportFormat::kHtml;
  if (name == "txt") return ExportFormat::kTxt;
  return Status::InvalidArgument(
      fmt::format("unknown export format '{}': use cast, cast-v2, cast-v3, html or txt", name));
}

Result<ExportFormat> ExportFormatFromPath(std::string_view path) {
  if (EndsWith(path, ".cast")) return ExportFormat::kCastV3;
  if (EndsWith(path, ".html") || EndsWith(path, ".htm")) return ExportFormat::kHtml;
  if (EndsWith(path, ".txt")) return ExportFormat::kTxt;
  return Status::InvalidArgument(fmt::format(
      "cannot tell the export format from '{}': name it .cast, .html or .txt, or give --format",
      path));
}

CastHeader HeaderFor(const store::SessionRow& row, std::optional<double> idle_time_limit) {
  CastHeader h;
  if (row.meta.term_cols > 0 && row.meta.term_rows > 0) {
    h.cols = row.meta.term_cols;
    h.rows = row.meta.term_rows;
  }
  h.timestamp_s = row.meta.started_at_ns / 1'000'000'000;
  h.command = JoinArgv(row.meta.command);
  h.title = row.meta.title;
  h.term_type = row.meta.term_type;
  if (!row.meta.command.empty()) {
    std::string_view argv0 = row.meta.command[0];
    std::string_view base =
        argv0.substr(argv0.rfind('/') == std::string_view::npos ? 0 : argv0.rfind('/') + 1);
    for (std::string_view shell : {"sh", "bash", "zsh", "ash", "dash", "ksh", "fish", "mksh"}) {
      if (base == shell) h.shell = argv0;
    }
  }
  h.idle_time_limit = idle_time_limit;
  return h;
}

Status ForEachEvent(store::Store& store, const store::SessionRow& row, bool input,
                    const EventSink& sink, const std::function<void(int64_t)>& progress) {
  // Events never go back in time: a command is told when its line is complete (see
  // CommandExtractor), which may be after output that followed its Enter.
  int64_t last_t = 0;
  auto ordered = [&](const Event& e) {
    last_t = std::max(last_t, e.t_ns);
    return sink(Event{last_t, e.type, e.data});
  };
  FrameEventizer::Options eo = FrameEventizer::ForSession(row, input);
  // The markers are the session's commands; an import keeps the markers it came with.
  const bool import = row.meta.kind == "import";
  eo.markers_from_input = false;
  FrameEventizer ez(eo, ordered);
  std::optional<CommandExtractor> commands;
  bool any_command = false;
  if (!import) {
    commands.emplace(CommandExtractor::ForSession(row), [&](const IndexedCommand& c) {
      any_command = true;
      return ordered(Event{c.t_ns, EventType::kMarker, c.text});
    });
  }
  // Without a terminal the extractor reads only stdin (its rules); the output matters to it only
  // until the exec argv went out (at its first event), so it is not decoded twice after that.
  const bool output_unused = !row.meta.tty;
  const bool argv_pending = row.meta.kind == "exec" && !row.meta.command.empty();
  int64_t frames = 0;
  PODTAPE_RETURN_IF_ERROR(store.ReadFrames(row.meta.id, [&](const store::FrameView& f) {
    if (progress && (++frames & 4095) == 0) progress(frames);
    // The extractor first: a command it completes on this frame's output belongs before it.
    const bool output = f.direction == store::Direction::kFromServer &&
                        (f.channel == codec::kStdout || f.channel == codec::kStderr);
    if (commands && !(output && output_unused && (any_command || !argv_pending))) {
      PODTAPE_RETURN_IF_ERROR(commands->OnFrame(f));
    }
    return ez.OnFrame(f);
  }));
  if (commands) PODTAPE_RETURN_IF_ERROR(commands->Finish());
  return ez.Finish(row.end.exit_code, SessionEndOffset(row, ez.last_t_ns()));
}

Status WriteHtmlStart(std::string_view title, ByteSink* out) {
  // The page allows nothing from outside: inline script and style only, no network at all.
  std::string head = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; "
      "img-src data:; font-src data:; worker-src blob:\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"podtape (asciinema-player {})\">\n"
      "<title>{}</title>\n<style>\n",
      AsciinemaPlayerVersion(), HtmlEscape(title));
  PODTAPE_RETURN_IF_ERROR(out->Write(head));
  PODTAPE_RETURN_IF_ERROR(out->Write(AsciinemaPlayerCss()));
  return out->Write(
      "\n</style>\n<style>body{margin:0;padding:16px;background:#121314}</style>\n</head>\n"
      "<body>\n<div id=\"player\"></div>\n"
      "<script type=\"application/json\" id=\"podtape-cast\">");
}

Status WriteHtmlEnd(ByteSink* out) {
  PODTAPE_RETURN_IF_ERROR(out->Write("</script>\n<script>\n"));
  PODTAPE_RETURN_IF_ERROR(out->Write(AsciinemaPlayerJs()));
  return out->Write(
      "\n</script>\n<script>\n"
      "window.podtapePlayer = AsciinemaPlayer.create(\n"
      "  {data: document.getElementById('podtape-cast').textContent},\n"
      "  document.getElementById('player'), {fit: 'width', preload: true});\n"
      "</script>\n</body>\n</html>\n");
}

Status ExportSession(store::Store& store, const store::SessionRow& row,
                     const ExportOptions& options, ByteSink* out) {
  const CastHeader header = HeaderFor(row, options.idle_time_limit);
  if (options.format == ExportFormat::kTxt) {
    TxtRenderer txt(header.cols, header.rows, options.timestamps, out);
    PODTAPE_RETURN_IF_ERROR(ForEachEvent(
        store, row, false, [&](const Event& e) { return txt.OnEvent(e); }, options.progress));
    PODTAPE_RETURN_IF_ERROR(txt.Finish());
    return out->Flush();
  }
  const bool html = options.format == ExportFormat::kHtml;
  if (html) {
    std::string title = row.meta.title;
    if (title.empty()) {
      title = fmt::format("{} {}/{}", row.short_id, row.meta.namespace_, row.meta.pod);
    }
    PODTAPE_RETURN_IF_ERROR(WriteHtmlStart(title, out));
  }
  // v2 cannot carry the exit code; html uses v3 (asciinema-player 3.18 reads both).
  const CastVersion version =
      options.format == ExportFormat::kCastV2 ? CastVersion::kV2 : CastVersion::kV3;
  AsciicastWriter writer(version, out, html);
  PODTAPE_RETURN_IF_ERROR(writer.WriteHeader(header));
  PODTAPE_RETURN_IF_ERROR(ForEachEvent(
      store, row, options.input,
      [&](const Event& e) {
        if (e.type == EventType::kExit && version == CastVersion::kV2) return Status::OK();
        return writer.WriteEvent(e);
      },
      options.progress));
  if (html) PODTAPE_RETURN_IF_ERROR(WriteHtmlEnd(out));
  return out->Flush();
}

Result<CatChannels> ParseCatChannels(std::string_view csv) {
  CatChannels c{false, false, false};
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    std::string_view name =
        csv.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (name == "stdout") {
      c.stdout_ = true;
    } else if (name == "stderr") {
      c.stderr_ = true;
    } else if (name == "stdin") {
      c.stdin_ = true;
    } else {
      return Status::InvalidArgument(
          fmt::format("unknown channel '{}' in --channels: use stdout, stderr, stdin", name));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return c;
}

Status CatSession(store::Store& store, const store::SessionRow& row, CatChannels channels,
                  ByteSink* out) {
  PODTAPE_RETURN_IF_ERROR(store.ReadFrames(row.meta.id, [&](const store::FrameView& f) {
    const bool from_server = f.direction == store::Direction::kFromServer;
    const bool wanted = (from_server && f.channel == codec::kStdout && channels.stdout_) ||
                        (from_server && f.channel == codec::kStderr && channels.stderr_) ||
                        (!from_server && f.channel == codec::kStdin && channels.stdin_);
    if (!wanted || f.payload.empty()) return Status::OK();
    return out->Write(f.payload);
  }));
  return out->Flush();
}

}  // namespace podtape::player
