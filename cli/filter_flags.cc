#include "cli/filter_flags.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "cli/app.h"
#include "player/time_spec.h"

namespace podtape::cli {

void AddFilterFlags(CLI::App* cmd, FilterFlags* f) {
  cmd->add_option("-n,--namespace", f->namespace_, "only sessions in this namespace")
      ->type_name("NS");
  cmd->add_option("--pod", f->pod, "only sessions in this pod")->type_name("POD");
  cmd->add_option("--container", f->container, "only sessions in this container")
      ->type_name("NAME");
  cmd->add_option("--user", f->user,
                  "only sessions of this user (API identity, kubeconfig user, --as or local user)")
      ->type_name("USER");
  cmd->add_option("--since", f->since,
                  "only sessions started since: a duration ago (90s, 2h, 30d) or RFC 3339 time")
      ->type_name("TIME");
  cmd->add_option("--until", f->until,
                  "only sessions started until: a duration ago (90s, 2h, 30d) or RFC 3339 time")
      ->type_name("TIME");
}

Result<store::SessionFilter> ToSessionFilter(const FilterFlags& f, int64_t now_ns) {
  store::SessionFilter filter;
  filter.namespace_ = f.namespace_;
  filter.pod = f.pod;
  filter.container = f.container;
  filter.user = f.user;
  if (!f.since.empty()) {
    Result<int64_t> t = player::ParseTimePoint(f.since, now_ns);
    if (!t.ok()) return t.status().WithContext("--since");
    filter.since_ns = *t;
  }
  if (!f.until.empty()) {
    Result<int64_t> t = player::ParseTimePoint(f.until, now_ns);
    if (!t.ok()) return t.status().WithContext("--until");
    filter.until_ns = *t;
  }
  return filter;
}

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::vector<player::IndexRow>> QueryIndexForCli(store::IndexQuery query,
                                                       const FilterFlags& f,
                                                       const Globals& globals) {
  Result<store::SessionFilter> filter = ToSessionFilter(f, WallNowNs());
  if (!filter.ok()) return filter.status();
  query.filter = *filter;
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  Result<player::IndexRows> found = player::QueryIndexRows(**store, query, player::kIndexerWait);
  if (!found.ok()) return found.status();
  if (found->indexer_busy) std::fputs(player::kIndexerBusyNote, stderr);
  return std::move(found->rows);
}

}  // namespace podtape::cli
