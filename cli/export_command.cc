// podtape export SESSION [FILE] [--format cast|cast-v2|cast-v3|html|txt] [--input]
//                [--idle-time-limit S] [--timestamps]
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/app.h"
#include "player/export.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct ExportOptions {
  std::string session;
  std::string file;
  std::string format;
  bool input = false;
  double idle_time_limit = 0;
  bool timestamps = false;
};

// A progress line on stderr, shown only when stderr is a terminal and the export has taken more
// than a second; erased at the end.
class Progress {
 public:
  explicit Progress(int64_t total_frames)
      : total_(total_frames), tty_(isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}
  ~Progress() {
    if (shown_) std::fputs("\r\x1b[K", stderr);
  }
  void Update(int64_t done) {
    if (!tty_) return;
    if (!shown_ && std::chrono::steady_clock::now() - start_ < std::chrono::seconds(1)) return;
    shown_ = true;
    const int pct = total_ > 0 ? static_cast<int>(std::min<int64_t>(100, done * 100 / total_)) : 0;
    const int width = 30;
    std::string bar(static_cast<size_t>(pct * width / 100), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\rexporting [%s] %3d%% %lld/%lld frames", bar.c_str(), pct,
                 static_cast<long long>(done), static_cast<long long>(total_));
    std::fflush(stderr);
  }

 private:
  int64_t total_;
  bool tty_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

Result<int> RunExport(const ExportOptions& o, const Globals& globals) {
  const bool to_stdout = o.file.empty() || o.file == "-";
  player::ExportOptions eo;
  if (!o.format.empty()) {
    auto f = player::ParseExportFormat(o.format);
    if (!f.ok()) return f.status();
    eo.format = *f;
  } else if (!to_stdout) {
    auto f = player::ExportFormatFromPath(o.file);
    if (!f.ok()) return f.status();
    eo.format = *f;
  }
  eo.input = o.input;
  if (o.idle_time_limit < 0) return Status::InvalidArgument("--idle-time-limit must be positive");
  if (o.idle_time_limit > 0) eo.idle_time_limit = o.idle_time_limit;
  eo.timestamps = o.timestamps;

  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  auto row = (*store)->Find(o.session);
  if (!row.ok()) return row.status();

  Progress progress(row->frames);
  eo.progress = [&progress](int64_t done) { progress.Update(done); };
  if (to_stdout) {
    player::FdSink out(1, "standard output");
    PODTAPE_RETURN_IF_ERROR(player::ExportSession(**store, *row, eo, &out));
    return 0;
  }
  // Written beside the target and renamed at the end: a failed export leaves no partial file.
  const std::string tmp = o.file + ".podtape-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot create " + o.file + ": " + player::ErrnoText(errno));
  }
  Status st;
  {
    player::FdSink out(fd, o.file);
    st = player::ExportSession(**store, *row, eo, &out);
  }
  if (st.ok() && ::fsync(fd) != 0)
    st = Status::IOError("writing " + o.file + ": " + player::ErrnoText(errno));
  if (::close(fd) != 0 && st.ok())
    st = Status::IOError("writing " + o.file + ": " + player::ErrnoText(errno));
  if (st.ok() && ::rename(tmp.c_str(), o.file.c_str()) != 0) {
    st = Status::IOError("cannot create " + o.file + ": " + player::ErrnoText(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return 0;
}

}  // namespace

void RegisterExport(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "write a session as asciicast (v3 or v2), a self-contained html page or text");
  cmd->add_option("session", o->session, "full id, short id (as ls shows) or last")
      ->required()
      ->type_name("SESSION");
  cmd->add_option("file", o->file, "where to write (default or -: standard output)")
      ->type_name("FILE");
  cmd->add_option("--format", o->format,
                  "cast (= cast-v3), cast-v2, cast-v3, html or txt (default: from FILE's "
                  "extension, else cast)")
      ->type_name("FORMAT");
  cmd->add_flag("--input", o->input, "include what was typed (i events)");
  cmd->add_option("--idle-time-limit", o->idle_time_limit,
                  "idle_time_limit in the header: players cut pauses longer than this")
      ->type_name("SECONDS");
  cmd->add_flag("--timestamps", o->timestamps, "txt: start each line with its time");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunExport(*o, globals); }; });
}

}  // namespace podtape::cli
