// podtape search TEXT [-n NS] [--pod P] [--container C] [--user U] [--since T] [--until T]
//                [--commands | --output-lines] [--limit N] [--no-headers] [-o table|json|csv]
// Finds TEXT (case-insensitive) in the commands (any substring) and rendered output lines (whole
// words: schema/index_store.h QueryIndex) of the recorded sessions, newest first; each hit gives
// the offset `podtape play SESSION --from` takes. Exit 0 with hits, 1 without, 2 on error. Ended
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

struct SearchOptions {
  std::string text;
  FilterFlags filter;
  std::string output = "table";
  bool commands_only = false, output_only = false, no_headers = false;
  int limit = 50;
};

Result<int> Search(const SearchOptions& o, const Globals& globals) {
  Result<player::ListFormat> format = player::ParseListFormat(o.output);
  if (!format.ok()) return format.status();
  if (o.text.empty()) return Status::InvalidArgument("nothing to search for: give TEXT");
  if (o.limit < 0) return Status::InvalidArgument("--limit must be 0 (no limit) or more");
  if (o.commands_only && o.output_only) {
    return Status::InvalidArgument("--commands and --output-lines exclude each other");
  }
  store::IndexQuery q;
  q.text = o.text;
  q.limit = o.limit;
  if (o.commands_only) q.kind = store::IndexKind::kCommand;
  if (o.output_only) q.kind = store::IndexKind::kOutput;
  Result<std::vector<player::IndexRow>> found = QueryIndexForCli(q, o.filter, globals);
  if (!found.ok()) return found.status();
  const std::vector<player::IndexRow>& rows = *found;
  if (!rows.empty() || *format == player::ListFormat::kJson) {
    player::FdSink out(1, "standard output");
    PODTAPE_RETURN_IF_ERROR(out.Write(player::FormatSearch(rows, *format, !o.no_headers)));
    PODTAPE_RETURN_IF_ERROR(out.Flush());
  }
  return rows.empty() ? 1 : 0;
}

// Exit 2 on error, as grep does (1 means no hit).
Result<int> RunSearch(const SearchOptions& o, const Globals& globals) {
  Result<int> rc = Search(o, globals);
  if (rc.ok()) return rc;
  std::fprintf(stderr, "error: %s\n", rc.status().message().c_str());
  return 2;
}

}  // namespace

void RegisterSearch(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<SearchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "search", "find text in recorded commands and output; exit 0 with hits, 1 without");
  cmd->add_option(
         "text", o->text,
         "the text to find, case-insensitive: any part of a command, whole words of an output line")
      ->type_name("TEXT")
      ->required();
  AddFilterFlags(cmd, &o->filter);
  cmd->add_flag("--commands", o->commands_only, "search only the commands");
  cmd->add_flag("--output-lines", o->output_only, "search only the output lines");
  cmd->add_option("--limit", o->limit, "at most N hits, newest first (0: all; default 50)")
      ->type_name("N");
  cmd->add_flag("--no-headers", o->no_headers, "no header line (table and csv)");
  cmd->add_option("-o,--output", o->output, "output format: table, json or csv")
      ->type_name("FORMAT");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunSearch(*o, globals); }; });
}

}  // namespace podtape::cli
