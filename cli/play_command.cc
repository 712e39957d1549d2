// podtape play SESSION|FILE.cast [-s X] [-i S] [--from T] [--to T] [--loop] [--pause-on-markers]
//              [--resize]
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>

#include "cli/app.h"
#include "player/asciicast.h"
#include "player/export.h"
#include "player/playback_io.h"
#include "player/replay.h"
#include "player/time_spec.h"
#include "player/timeline.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct PlayOptions {
  std::string target;
  double speed = 1.0;
  double idle_time_limit = 0;
  std::string from, to;
  bool loop = false;
  bool pause_on_markers = false;
  bool resize = false;
};

bool IsCastFile(const std::string& target) {
  if (target.size() > 5 && target.compare(target.size() - 5, 5, ".cast") == 0) return true;
  struct stat st;
  return target.find('/') != std::string::npos && ::stat(target.c_str(), &st) == 0 &&
         S_ISREG(st.st_mode);
}

// What to play: a producer of its events (run on the player's reader thread, again for each
// seek backward) and the recording's initial size. Owns what the producer reads.
struct Recording {
  std::unique_ptr<store::Store> store;
  std::optional<store::SessionRow> row;
  std::string cast_path;
  int cols = 80;
  int rows = 24;
  Status Produce(const player::EventSink& sink) {
    if (row) return player::ForEachEvent(*store, *row, /*input=*/false, sink);
    std::ifstream in(cast_path, std::ios::binary);
    if (!in) return Status::NotFound("cannot open " + cast_path + ": check the path");
    auto reader = player::AsciicastReader::Open(&in, cast_path);
    if (!reader.ok()) return reader.status();
    return (*reader)->ReadEvents(sink);
  }
};

// Opens the recording (a .cast file's header is read here, so a bad file fails before playing).
Status Open(const PlayOptions& o, const Globals& globals, Recording* rec) {
  if (IsCastFile(o.target)) {
    std::ifstream in(o.target, std::ios::binary);
    if (!in) return Status::NotFound("cannot open " + o.target + ": check the path");
    auto reader = player::AsciicastReader::Open(&in, o.target);
    if (!reader.ok()) return reader.status();
    rec->cast_path = o.target;
    rec->cols = (*reader)->header().cols;
    rec->rows = (*reader)->header().rows;
    return Status::OK();
  }
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  auto row = (*store)->Find(o.target);
  if (!row.ok()) return row.status();
  player::CastHeader h = player::HeaderFor(*row, std::nullopt);
  rec->cols = h.cols;
  rec->rows = h.rows;
  rec->store = std::move(*store);
  rec->row = std::move(*row);
  return Status::OK();
}

Result<int> RunPlay(const PlayOptions& o, const Globals& globals) {
  if (!(o.speed > 0)) return Status::InvalidArgument("--speed must be more than 0");
  if (o.idle_time_limit < 0) return Status::InvalidArgument("--idle-time-limit must be positive");
  player::ReplayOptions ro;
  ro.speed = o.speed;
  if (o.idle_time_limit > 0) ro.idle_limit_ns = static_cast<int64_t>(o.idle_time_limit * 1e9);
  if (!o.from.empty()) {
    auto t = player::ParseOffset(o.from);
    if (!t.ok()) return t.status().WithContext("--from");
    ro.from_ns = *t;
  }
  if (!o.to.empty()) {
    auto t = player::ParseOffset(o.to);
    if (!t.ok()) return t.status().WithContext("--to");
    ro.to_ns = *t;
  }
  ro.loop = o.loop;
  ro.pause_on_markers = o.pause_on_markers;
  ro.resize = o.resize;

  Recording rec;
  PODTAPE_RETURN_IF_ERROR(Open(o, globals, &rec));
  ro.cols = rec.cols;
  ro.rows = rec.rows;
  // Reading starts now, on its own thread, while the terminal is set up.
  player::StreamedEvents events(
      [&rec](const player::EventSink& sink) { return rec.Produce(sink); });

  const bool out_tty = isatty(1) == 1;
  int term_cols = 0, term_rows = 0;
  const bool check_size = out_tty && !o.resize && player::TerminalSize(1, &term_cols, &term_rows);
  bool warned = false;
  auto warn = [&](int need_cols, int need_rows) {
    std::fprintf(stderr,
                 "podtape: warning: this terminal is %dx%d but the recording uses %dx%d; "
                 "enlarge it or use --resize, else full-screen programs will look garbled\n",
                 term_cols, term_rows, need_cols, need_rows);
    warned = true;
  };
  if (check_size && (term_cols < rec.cols || term_rows < rec.rows)) warn(rec.cols, rec.rows);
  // Keys only when both ends are a terminal: with stdout redirected it plays without keys.
  auto io = player::PosixPlaybackIo::Create(0, 1, out_tty && isatty(0) == 1);
  if (!io.ok()) return io.status();
  player::Replayer replayer(&events, ro, io->get());
  Status st = replayer.Run();
  io->reset();  // the terminal's mode is restored before anything else is printed
  if (!st.ok()) return st;
  // A later resize beyond the terminal is told once playing is over (not over the replay).
  const player::ReplayStats& stats = replayer.stats();
  if (check_size && !warned && (term_cols < stats.max_cols || term_rows < stats.max_rows)) {
    warn(std::max(rec.cols, stats.max_cols), std::max(rec.rows, stats.max_rows));
  }
  return 0;
}

}  // namespace

void RegisterPlay(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<PlayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "play",
      "replay a session or .cast file in the terminal with its timing\n"
      "keys: space pause/resume, . step, ] next command, [ previous command, +/- speed, q quit");
  cmd->add_option("target", o->target, "full id, short id (as ls shows), last, or FILE.cast")
      ->required()
      ->type_name("SESSION|FILE.cast");
  cmd->add_option("-s,--speed", o->speed, "playback speed (2 = twice as fast)")->type_name("X");
  cmd->add_option("-i,--idle-time-limit", o->idle_time_limit, "cut pauses longer than this")
      ->type_name("SECONDS");
  cmd->add_option("--from", o->from, "start at this offset (90, 90.5s, 1:30, 1:02:03.5)")
      ->type_name("T");
  cmd->add_option("--to", o->to, "stop after this offset")->type_name("T");
  cmd->add_flag("--loop", o->loop, "play again from the start at the end");
  cmd->add_flag("--pause-on-markers", o->pause_on_markers, "pause at each command (space goes on)");
  cmd->add_flag("--resize", o->resize,
                "ask the terminal to take the recorded size (xterm ESC[8;ROWS;COLSt)");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunPlay(*o, globals); }; });
}

}  // namespace podtape::cli
