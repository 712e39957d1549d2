// podtape audit [-n NS] [--pod P] [--container C] [--user U] [--since T] [--until T]
//               [--session S] [--no-headers] [-o table|json|csv]
// One row per command from the command index (player/command_index.h), oldest first. Ended
// sessions not indexed yet are indexed first.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "cli/app.h"
#include "cli/filter_flags.h"
#include "player/audit.h"
#include "player/output.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct AuditOptions {
  FilterFlags filter;
  std::string output = "table";
  bool no_headers = false;
};

Result<int> RunAudit(const AuditOptions& o, const Globals& globals) {
  Result<player::ListFormat> format = player::ParseListFormat(o.output);
  if (!format.ok()) return format.status();
  store::IndexQuery q;
  q.kind = store::IndexKind::kCommand;
  q.newest_first = false;
  Result<std::vector<player::IndexRow>> found = QueryIndexForCli(q, o.filter, globals);
  if (!found.ok()) return found.status();
  const std::vector<player::IndexRow>& rows = *found;
  player::FdSink out(1, "standard output");
  PODTAPE_RETURN_IF_ERROR(out.Write(player::FormatAudit(rows, *format, !o.no_headers)));
  PODTAPE_RETURN_IF_ERROR(out.Flush());
  return 0;
}

}  // namespace

void RegisterAudit(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "who ran what: one row per command of the recorded sessions, oldest first");
  AddFilterFlags(cmd, &o->filter);
  cmd->add_flag("--no-headers", o->no_headers, "no header line (table and csv)");
  cmd->add_option("-o,--output", o->output, "output format: table, json or csv")
      ->type_name("FORMAT");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunAudit(*o, globals); }; });
}

}  // namespace podtape::cli
