// `podtape audit` and `podtape search`: rows from the command index joined with their sessions,
// and their output. Table cells are escaped (player/session_list.h EscapeForTerminal); JSON and
// CSV carry the text as recorded.
//
// audit: one row per command, oldest first: time (UTC, RFC 3339 with fraction), user and groups
// (the identity the API server confirmed; user_source says how it was learned), cluster,
// namespace, pod, container, command, session id, the session's exit code.
// search: one row per hit, newest first: session short id, offset into the session (the syntax
// `podtape play --from` accepts), time (UTC), user, namespace/pod/container, what matched
// ("$ command" for a command, the output line otherwise).
#ifndef PODTAPE_PLAYER_AUDIT_H_
#define PODTAPE_PLAYER_AUDIT_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "player/session_list.h"
#include "schema/index_store.h"
#include "schema/status.h"
#include "schema/store.h"

namespace podtape::player {

// A hit with its session (rows of one session share it).
struct IndexRow {
  store::IndexHit hit;
  std::shared_ptr<const store::SessionRow> session;
};

struct IndexRows {
  std::vector<IndexRow> rows;
  // Another indexer kept the store past the wait: sessions it had not finished are missing.
  bool indexer_busy = false;
};

// How long search and audit wait for another indexer (the background `podtape index` a session
// starts when it ends) before they search without the sessions it has not finished, and what
// they then print on stderr.
inline constexpr std::chrono::milliseconds kIndexerWait{30'000};
inline constexpr char kIndexerBusyNote[] =
    "warning: another podtape is still indexing this store: sessions it has not finished are "
    "not searched yet; run 'podtape index' to wait for it\n";

// What search and audit do: index the sessions not indexed yet (player/search.h, waiting up to
// `wait` for another indexer), run `query`, and join each hit with its session.
Result<IndexRows> QueryIndexRows(store::Store& store, const store::IndexQuery& query,
                                 std::chrono::milliseconds wait);

std::string FormatAudit(const std::vector<IndexRow>& rows, ListFormat format, bool headers);
std::string FormatSearch(const std::vector<IndexRow>& rows, ListFormat format, bool headers);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_AUDIT_H_
