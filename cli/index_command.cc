// podtape index [--background]
//
// Builds the search index (commands and output lines) of every ended session not indexed yet.
// exec, attach (and proxy) start it detached when a session ends (StartBackgroundIndexer), so
// indexing never delays the user's exit: --background runs at the lowest CPU priority (nice 19)
// and the idle I/O class, prints nothing, works at most a tenth of the time while a session of
// the store is being recorded (player/search.h kYieldSleepPerWork), and writes only the index
// file beside the store (schema/index_store.h), so the next session's writes never wait for it. One
// indexer runs at a time per store; others wait for it, asleep, and the one running goes on until
// no ended session is left unindexed. search and audit catch up themselves on anything still
// pending. PODTAPE_NO_INDEX=1 in the environment turns the background indexer off (search and audit
// then index when they run).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "cli/app.h"
#include "player/search.h"
#include "schema/store.h"

extern char** environ;

namespace podtape::cli {
namespace {

struct IndexOptions {
  bool background = false;
};

// The idle I/O scheduling class (ioprio_set(2); glibc has no wrapper): the disk serves this
// process only when nobody else wants it. Best effort: a kernel or scheduler without I/O
// priorities leaves it at the default.
void SetIdleIoPriority() {
  constexpr int kIoprioWhoProcess = 1;
  constexpr int kIoprioClassIdle = 3;
  constexpr int kIoprioClassShift = 13;
  syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift);
}

Result<int> RunIndex(const IndexOptions& opts, const Globals& globals) {
  if (opts.background) {
    setpriority(PRIO_PROCESS, 0, 19);
    SetIdleIoPriority();
  }
  auto db = ResolveDbPath(globals);
  if (!db.ok()) return db.status();
  // A background indexer whose store was removed meanwhile has nothing to do: it never creates
  // one (nor the folder it was in).
  if (opts.background && access(db->c_str(), F_OK) != 0) return 0;
  auto store = store::Store::Open(*db);
  if (!store.ok()) return store.status();
  Result<player::IndexRun> run =
      player::IndexPendingSessions(**store, std::chrono::milliseconds(-1), opts.background);
  if (!run.ok()) return run.status().WithContext("indexing");
  const int n = run->indexed;
  if (!opts.background) std::printf("indexed %d session%s\n", n, n == 1 ? "" : "s");
  return 0;
}

}  // namespace

void RegisterIndex(CLI::App& app, Globals& globals) {
  auto opts = std::make_shared<IndexOptions>();
  CLI::App* cmd = app.add_subcommand(
      "index", "build the search index of ended sessions not indexed yet (search does it too)");
  cmd->add_flag("--background", opts->background,
                "run at the lowest CPU priority and print nothing (what exec and attach use)");
  cmd->callback(
      [opts, &globals] { globals.run = [opts, &globals] { return RunIndex(*opts, globals); }; });
}

int SpawnIndexer(const std::string& db_path, bool detached) {
  // A fresh process (not a fork of this multi-threaded one), with stdio on /dev/null so it
  // holds no pipe of the caller's open.
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  for (int fd = 0; fd <= 2; ++fd) {
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  // The caller's signal mask and ignored signals would carry over exec: the proxy blocks SIGINT
  // and SIGTERM (its sigwait thread takes them), and its indexer went on for a minute after a
  // SIGTERM.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (detached) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  char* argv[] = {const_cast<char*>("podtape"),       const_cast<char*>("--db"),
                  const_cast<char*>(db_path.c_str()), const_cast<char*>("index"),
                  const_cast<char*>("--background"),  nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

void StartBackgroundIndexer(const std::string& db_path) {
  const char* off = std::getenv("PODTAPE_NO_INDEX");
  if (off != nullptr && *off != '\0' && std::string_view(off) != "0") return;
  SpawnIndexer(db_path, /*detached=*/true);
}

}  // namespace podtape::cli
