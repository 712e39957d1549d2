// podtape play SESSION|FILE.cast [-s X] [-i S] [--from T] [--to T] [--loop] [--pause-on-markers]
//              [--resize]
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>

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

// Loads the events to play and the recording's initial size.
Status Load(const PlayOptions& o, const Globals& globals, player::Timeline* timeline, int* cols,
            int* rows) {
  auto add = [timeline](const player::Event& e) {
    timeline->Add(e);
    return Status::OK();
  };
  if (IsCastFile(o.target)) {
    std::ifstream in(o.target, std::ios::binary);
    if (!in) return Status::NotFound("cannot open " + o.target + ": check the path");
    auto reader = player::AsciicastReader::Open(&in, o.target);
    if (!reader.ok()) return reader.status();
    *cols = (*reader)->header().cols;
    *rows = (*reader)->header().rows;
    return (*reader)->ReadEvents(add);
  }
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  auto row = (*store)->Find(o.target);
  if (!row.ok()) return row.status();
  player::CastHeader h = player::HeaderFor(*row, std::nullopt);
  *cols = h.cols;
  *rows = h.rows;
  return player::ForEachEvent(**store, *row, /*input=*/false, add);
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

  player::Timeline timeline;
  PODTAPE_RETURN_IF_ERROR(Load(o, globals, &timeline, &ro.cols, &ro.rows));

  const bool out_tty = isatty(1) == 1;
  int term_cols = 0, term_rows = 0;
  if (out_tty && !o.resize && player::TerminalSize(1, &term_cols, &term_rows)) {
    int need_cols = ro.cols, need_rows = ro.rows;
    timeline.MaxSize(&need_cols, &need_rows);
    if (term_cols < need_cols || term_rows < need_rows) {
      std::fprintf(stderr,
                   "podtape: warning: this terminal is %dx%d but the recording uses %dx%d; "
                   "enlarge it or use --resize, else full-screen programs will look garbled\n",
                   term_cols, term_rows, need_cols, need_rows);
    }
  }
  // Keys only when both ends are a terminal: with stdout redirected it plays without keys.
  auto io = player::PosixPlaybackIo::Create(0, 1, out_tty && isatty(0) == 1);
  if (!io.ok()) return io.status();
  player::Replayer replayer(&timeline, ro, io->get());
  Status st = replayer.Run();
  io->reset();  // the terminal's mode is restored before anything else is printed
  if (!st.ok()) return st;
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
