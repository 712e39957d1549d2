// podtape ls [-n NS] [--pod P] [--container C] [--user U] [--since T] [--until T] [--limit N]
//            [--no-headers] [-o table|json|csv]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/app.h"
#include "cli/filter_flags.h"
#include "player/output.h"
#include "player/session_list.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct LsOptions {
  FilterFlags filter;
  int limit = 0;
  bool no_headers = false;
  std::string output = "table";
};

Result<int> RunLs(const LsOptions& o, const Globals& globals) {
  Result<player::ListFormat> format = player::ParseListFormat(o.output);
  if (!format.ok()) return format.status();
  const int64_t now = WallNowNs();
  if (o.limit < 0) return Status::InvalidArgument("--limit must be 0 (no limit) or more");
  Result<store::SessionFilter> filter = ToSessionFilter(o.filter, now);
  if (!filter.ok()) return filter.status();
  filter->limit = o.limit;
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  auto rows = (*store)->List(*filter);
  if (!rows.ok()) return rows.status();
  player::FdSink out(1, "standard output");
  PODTAPE_RETURN_IF_ERROR(out.Write(player::FormatSessions(*rows, *format, !o.no_headers, now)));
  PODTAPE_RETURN_IF_ERROR(out.Flush());
  return 0;
}

}  // namespace

void RegisterLs(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<LsOptions>();
  CLI::App* cmd = app.add_subcommand("ls", "list recorded sessions, newest first");
  AddFilterFlags(cmd, &o->filter);
  cmd->add_option("--limit", o->limit, "at most N sessions (0: all)")->type_name("N");
  cmd->add_flag("--no-headers", o->no_headers, "no header line (table and csv)");
  cmd->add_option("-o,--output", o->output, "output format: table, json or csv")
      ->type_name("FORMAT");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunLs(*o, globals); }; });
}

}  // namespace podtape::cli
