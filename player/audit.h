// `podtape audit` and `podtape search` output: rows from the command index joined with their
// sessions. Table cells are escaped (player/session_list.h EscapeForTerminal); JSON and CSV
// carry the text as recorded.
//
// audit: one row per command, oldest first: time (UTC, RFC 3339 with fraction), user and groups
// (the identity the API server confirmed; user_source says how it was learned), cluster,
// namespace, pod, container, command, session id, the session's exit code.
// search: one row per hit, newest first: session short id, offset into the session (the syntax
// `podtape play --from` accepts), time (UTC), user, namespace/pod/container, what matched
// ("$ command" for a command, the output line otherwise).
#ifndef PODTAPE_PLAYER_AUDIT_H_
#define PODTAPE_PLAYER_AUDIT_H_

#include <map>
#include <string>
#include <vector>

#include "player/session_list.h"
#include "schema/index_store.h"
#include "schema/store.h"

namespace podtape::player {

// A hit with its session (looked up once per session).
struct IndexRow {
  store::IndexHit hit;
  const store::SessionRow* session = nullptr;
};

// Looks up each hit's session in `store`; `cache` keeps the rows (the IndexRows point into it).
Result<std::vector<IndexRow>> JoinSessions(store::Store& store,
                                           const std::vector<store::IndexHit>& hits,
                                           std::map<std::string, store::SessionRow>* cache);

std::string FormatAudit(const std::vector<IndexRow>& rows, ListFormat format, bool headers);
std::string FormatSearch(const std::vector<IndexRow>& rows, ListFormat format, bool headers);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_AUDIT_H_
