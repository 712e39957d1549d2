// podtape audit [-n NS] [--pod P] [--container C] [--user U] [--since T] [--until T]
//               [--session S] [--no-headers] [-o table|json|csv]
// One row per command from the command index (player/command_index.h), oldest first. Ended
// sessions not indexed yet are indexed first.
#include <CLI/CLI.hpp>
#include <chrono>
#include <map>
#include <memory>

#include "cli/app.h"
#include "player/audit.h"
#include "player/output.h"
#include "player/search.h"
#include "player/time_spec.h"
#include "schema/index_store.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct AuditOptions {
  std::string namespace_, pod, container, user, since, until, output = "table";
  bool no_headers = false;
};

Result<int> RunAudit(const AuditOptions& o, const Globals& globals) {
  Result<player::ListFormat> format = player::ParseListFormat(o.output);
  if (!format.ok()) return format.status();
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  store::IndexQuery q;
  q.kind = store::IndexKind::kCommand;
  q.newest_first = false;
  q.filter.namespace_ = o.namespace_;
  q.filter.pod = o.pod;
  q.filter.container = o.container;
  q.filter.user = o.user;
  if (!o.since.empty()) {
    Result<int64_t> t = player::ParseTimePoint(o.since, now);
    if (!t.ok()) return t.status().WithContext("--since");
    q.filter.since_ns = *t;
  }
  if (!o.until.empty()) {
    Result<int64_t> t = player::ParseTimePoint(o.until, now);
    if (!t.ok()) return t.status().WithContext("--until");
    q.filter.until_ns = *t;
  }
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  Result<int> indexed = player::IndexPendingSessions(**store);
  if (!indexed.ok()) return indexed.status();
  auto hits = store::QueryIndex(**store, q);
  if (!hits.ok()) return hits.status();
  std::map<std::string, store::SessionRow> sessions;
  auto rows = player::JoinSessions(**store, *hits, &sessions);
  if (!rows.ok()) return rows.status();
  player::FdSink out(1, "standard output");
  PODTAPE_RETURN_IF_ERROR(out.Write(player::FormatAudit(*rows, *format, !o.no_headers)));
  PODTAPE_RETURN_IF_ERROR(out.Flush());
  return 0;
}

}  // namespace

void RegisterAudit(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "who ran what: one row per command of the recorded sessions, oldest first");
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
  cmd->add_flag("--no-headers", o->no_headers, "no header line (table and csv)");
  cmd->add_option("-o,--output", o->output, "output format: table, json or csv")
      ->type_name("FORMAT");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunAudit(*o, globals); }; });
}

}  // namespace podtape::cli
