// The session filters that ls, search and audit share: -n, --pod, --container, --user, --since,
// --until (DESIGN.md "Shared conventions").
#ifndef PODTAPE_CLI_FILTER_FLAGS_H_
#define PODTAPE_CLI_FILTER_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "player/audit.h"
#include "schema/index_store.h"
#include "schema/status.h"
#include "schema/store.h"

namespace CLI {
class App;
}

namespace podtape::cli {

struct FilterFlags {
  std::string namespace_, pod, container, user, since, until;
};

// Adds the six filter options to `cmd`; `f` must outlive the parse.
void AddFilterFlags(CLI::App* cmd, FilterFlags* f);

// The filter the flags describe. --since/--until take a duration ago (90s, 2h, 30d), counted back
// from now_ns (Unix UTC ns), or an RFC 3339 time. The limit is left at 0 (none).
Result<store::SessionFilter> ToSessionFilter(const FilterFlags& f, int64_t now_ns);

// The wall clock, Unix UTC ns.
int64_t WallNowNs();

struct Globals;

// What search and audit share: `query` narrowed by the filter flags, run on the store the
// globals name (indexing what is pending first, waiting up to player::kIndexerWait for another
// indexer; when it gave up, says so on stderr with player::kIndexerBusyNote).
Result<std::vector<player::IndexRow>> QueryIndexForCli(store::IndexQuery query,
                                                       const FilterFlags& f,
                                                       const Globals& globals);

}  // namespace podtape::cli

#endif  // PODTAPE_CLI_FILTER_FLAGS_H_
