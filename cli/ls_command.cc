// podtape ls [-n NS] [--pod P] [--container C] [--user U] [--since T] [--until T] [--limit N]
//            [--no-headers] [-o table|json|csv]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/app.h"
#include "player/output.h"
#include "player/session_list.h"
#include "player/time_spec.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct LsOptions {
  std::string namespace_, pod, container, user, since, until;
  int limit = 0;
  bool no_headers = false;
  std::string output = "table";
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<int> RunLs(const LsOptions& o, const Globals& globals) {
  Result<player::ListFormat> format = player::ParseListFormat(o.output);
  if (!format.ok()) return format.status();
  const int64_t now = NowNs();
  store::SessionFilter filter;
  filter.namespace_ = o.namespace_;
  filter.pod = o.pod;
  filter.container = o.container;
  filter.user = o.user;
  filter.limit = o.limit;
  if (o.limit < 0) return Status::InvalidArgument("--limit must be 0 (no limit) or more");
  if (!o.since.empty()) {
    Result<int64_t> t = player::ParseTimePoint(o.since, now);
    if (!t.ok()) return t.status().WithContext("--since");
    filter.since_ns = *t;
  }
  if (!o.until.empty()) {
    Result<int64_t> t = player::ParseTimePoint(o.until, now);
    if (!t.ok()) return t.status().WithContext("--until");
    filter.until_ns = *t;
  }
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  auto rows = (*store)->List(filter);
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
  cmd->add_option("-n,--namespace", o->namespace_, "only sessions in this namespace")
      ->type_name("NS");
  cmd->add_option("--pod", o->pod, "only sessions in this pod")->type_name("POD");
  cmd->add_option("--container", o->container, "only sessions in this container")
      ->type_name("NAME");
  cmd->add_option("--user", o->user,
                  "only sessions of this user (API identity, kubeconfig user, --as or local user)")
      ->type_name("USER");
  cmd->add_option("--since", o->since,
                  "only sessions started since: a duration ago (90s, 2h, 30d) or RFC 3339 time")
      ->type_name("TIME");
  cmd->add_option("--until", o->until,
                  "only sessions started until: a duration ago (90s, 2h, 30d) or RFC 3339 time")
      ->type_name("TIME");
  cmd->add_option("--limit", o->limit, "at most N sessions (0: all)")->type_name("N");
  cmd->add_flag("--no-headers", o->no_headers, "no header line (table and csv)");
  cmd->add_option("-o,--output", o->output, "output format: table, json or csv")
      ->type_name("FORMAT");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunLs(*o, globals); }; });
}

}  // namespace podtape::cli
