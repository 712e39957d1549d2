// podtape prune --before TIME [--dry-run]
//
// Removes every session that started before TIME (a duration ago such as 30d, or an RFC 3339
// time), with its frames and index rows. A running session is never removed (it is listed and
// skipped; the exit code is then 1). The sessions left are untouched and still verify.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "cli/app.h"
#include "player/output.h"
#include "player/time_spec.h"
#include "schema/prune.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct PruneOptions {
  std::string before;
  bool dry_run = false;
};

Result<int> RunPrune(const PruneOptions& o, const Globals& globals) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Result<int64_t> before = player::ParseTimePoint(o.before, now);
  if (!before.ok()) return before.status().WithContext("--before");
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  store::SessionFilter filter;
  filter.until_ns = *before - 1;  // strictly before
  auto rows = (*store)->List(filter);
  if (!rows.ok()) return rows.status();

  std::string text;
  int64_t removed = 0, frames = 0;
  int rc = 0;
  for (const store::SessionRow& row : *rows) {
    if (row.end_reason == "running") {
      text += fmt::format("skipped {}: still running\n", row.short_id);
      rc = 1;
      continue;
    }
    if (o.dry_run) {
      text += fmt::format("would remove {} ({} frames)\n", row.short_id, row.frames);
      continue;
    }
    Result<int64_t> n = store::DeleteSession(**store, row.meta.id);
    if (!n.ok()) {
      if (n.status().code() == Status::Code::kInvalidArgument) {  // started running meanwhile
        text += fmt::format("skipped {}: {}\n", row.short_id, n.status().message());
        rc = 1;
        continue;
      }
      return n.status().WithContext("pruning session " + row.short_id);
    }
    ++removed;
    frames += *n;
  }
  if (!o.dry_run) {
    text += fmt::format("removed {} session{} ({} frames) started before {}\n", removed,
                        removed == 1 ? "" : "s", frames, player::FormatRfc3339(*before, true));
  }
  player::FdSink out(1, "standard output");
  PODTAPE_RETURN_IF_ERROR(out.Write(text));
  PODTAPE_RETURN_IF_ERROR(out.Flush());
  return rc;
}

}  // namespace

void RegisterPrune(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<PruneOptions>();
  CLI::App* cmd = app.add_subcommand(
      "prune", "remove whole sessions that started before a time (never a running one)");
  cmd->add_option("--before", o->before,
                  "remove sessions started before this: a duration ago (30d, 12h) or an RFC 3339 "
                  "time")
      ->type_name("TIME")
      ->required();
  cmd->add_flag("--dry-run", o->dry_run, "only list what would be removed");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunPrune(*o, globals); }; });
}

}  // namespace podtape::cli
