// The command and output index in the store (schema.sql version 2: index_lines, index_fts,
// indexed_sessions). player/ builds the rows (player/command_index.h, player/search.h); this is
// the only place their SQL lives. Each call opens a private connection to the store's file (file
// stores only; an in-memory store is Unsupported).
#ifndef PODTAPE_SCHEMA_INDEX_STORE_H_
#define PODTAPE_SCHEMA_INDEX_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/status.h"
#include "schema/store.h"

namespace podtape::store {

enum class IndexKind : int { kCommand = 0, kOutput = 1 };

struct IndexEntry {
  int64_t t_ns = 0;  // session time
  IndexKind kind = IndexKind::kCommand;
  std::string text;
};

// Ids of ended sessions (and interrupted ones, whose writer is gone) that have no index yet,
// oldest first. Running sessions are left for later.
Result<std::vector<std::string>> UnindexedSessions(Store& store);

// Stores a session's index entries and marks it indexed, in one transaction. Does nothing (and
// returns false) when another process indexed it meanwhile.
Result<bool> WriteSessionIndex(Store& store, std::string_view session_id,
                               const std::vector<IndexEntry>& entries);

struct IndexHit {
  std::string session_id;
  int64_t started_at_ns = 0;  // the session's start (Unix UTC ns)
  int64_t t_ns = 0;           // session time of the entry
  IndexKind kind = IndexKind::kCommand;
  std::string text;
};

struct IndexQuery {
  std::string text;  // substring to find (case-insensitive); empty: every entry
  std::optional<IndexKind> kind;
  SessionFilter filter;  // namespace, pod, container, user, since/until; filter.limit unused
  int limit = 0;         // 0: no limit
  // Entries are numbered as they are indexed: sessions in the order they were indexed (when
  // they ended, or oldest first on catch-up), each session's entries by t_ns. newest_first
  // returns the highest numbers first (so a LIMIT reads no more than it returns); false: lowest.
  bool newest_first = true;
};

// Entries matching `query`. A text of 3 characters or more uses the trigram FTS5 index (the text
// is quoted as one FTS5 string, so no query syntax is interpreted); a shorter one scans.
Result<std::vector<IndexHit>> QueryIndex(Store& store, const IndexQuery& query);

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_INDEX_STORE_H_
