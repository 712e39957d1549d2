// `podtape export` and `podtape cat`: a stored session streamed to a file in one pass over its
// frames (Store::ReadFrames -> FrameEventizer -> encoder -> buffered sink), in constant memory.
#ifndef PODTAPE_PLAYER_EXPORT_H_
#define PODTAPE_PLAYER_EXPORT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "player/asciicast.h"
#include "player/output.h"
#include "schema/store.h"

namespace podtape::player {

enum class ExportFormat { kCastV2, kCastV3, kHtml, kTxt };

// "cast" (= v3), "cast-v2", "cast-v3", "html", "txt".
Result<ExportFormat> ParseExportFormat(std::string_view name);
// From a file name: .cast -> v3, .html/.htm -> html, .txt -> txt.
Result<ExportFormat> ExportFormatFromPath(std::string_view path);

struct ExportOptions {
  ExportFormat format = ExportFormat::kCastV3;
  bool input = false;                     // `i` events (casts and html)
  std::optional<double> idle_time_limit;  // seconds, for the cast header
  bool timestamps = false;                // txt: prefix lines with their time
  // Called now and then (every 4096 frames) with the frames done so far; may be empty.
  std::function<void(int64_t frames_done)> progress;
};

// The asciicast header of a stored session: its size (80x24 when it had no terminal), start,
// command, title, TERM and, when the command is a shell, SHELL.
CastHeader HeaderFor(const store::SessionRow& row, std::optional<double> idle_time_limit);

// Streams a session's events (as FrameEventizer makes them) to `sink`, then `x` when the exit
// code is known. The `m` markers are the session's commands (player/command_index.h: the exec
// argv, each command line typed), labelled with the command, at the time of its Enter or, when
// output after the Enter came before the line was complete, with that output (events never go
// back in time); an import keeps the markers it came with. One pass over the frames.
Status ForEachEvent(store::Store& store, const store::SessionRow& row, bool input,
                    const EventSink& sink, const std::function<void(int64_t)>& progress = nullptr);

Status ExportSession(store::Store& store, const store::SessionRow& row,
                     const ExportOptions& options, ByteSink* out);

// The html page around a cast: writes everything before the cast, then the cast must be written
// html-safe (AsciicastWriter(..., html_safe = true)), then WriteHtmlEnd.
Status WriteHtmlStart(std::string_view title, ByteSink* out);
Status WriteHtmlEnd(ByteSink* out);

// `podtape cat`: the raw payload bytes of the chosen channels, in arrival order.
struct CatChannels {
  bool stdout_ = true;
  bool stderr_ = true;
  bool stdin_ = false;
};
// "stdout,stderr,stdin" (any subset, any order).
Result<CatChannels> ParseCatChannels(std::string_view csv);
Status CatSession(store::Store& store, const store::SessionRow& row, CatChannels channels,
                  ByteSink* out);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_EXPORT_H_
