// The command and output index: its own SQLite file beside the store, `<store>.index`
// (schema/index_schema.sql: index_lines, index_fts, output_fts, indexed_sessions), so building it
// never takes the store's write lock. player/ builds the rows (player/command_index.h,
// player/search.h); this is the only place their SQL lives. Each object and call opens private
// connections (file stores only; an in-memory store is Unsupported); searches attach the index
// file to a connection to the store, and only read.
//
// Writing: one indexer at a time per store file (IndexerLock, an flock on `<db>.indexing`). A
// session's rows are gathered and written in short transactions on the index file
// (SessionIndexWriter: at most kIndexBatchEntries rows or kIndexBatchBytes of text each); they
// become visible to QueryIndex only when the last transaction marks the session indexed. Rows
// left by an indexer that died part-way are removed by the next one before it indexes that
// session. Rows count only for a session the store still has (matched by key and id).
#ifndef PODTAPE_SCHEMA_INDEX_STORE_H_
#define PODTAPE_SCHEMA_INDEX_STORE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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

inline constexpr size_t kIndexBatchEntries = 512;
inline constexpr size_t kIndexBatchBytes = 64 * 1024;

// The right to write the index of a store file. Released on destruction (or when the process
// dies: the kernel drops the flock). Move-only.
class IndexerLock {
 public:
  IndexerLock() = default;
  ~IndexerLock();
  IndexerLock(IndexerLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  IndexerLock& operator=(IndexerLock&& o) noexcept;
  IndexerLock(const IndexerLock&) = delete;
  IndexerLock& operator=(const IndexerLock&) = delete;
  bool held() const { return fd_ >= 0; }

  // Takes the lock of `store`'s file, waiting at most `wait` for another indexer to let it go
  // (0: do not wait; negative: as long as it takes, asleep). Returns an IndexerLock that is not
  // held() when the wait ran out.
  static Result<IndexerLock> Acquire(Store& store, std::chrono::milliseconds wait);

 private:
  int fd_ = -1;
};

// Is a session of `store` being recorded right now (by any process)? One system call.
bool AnySessionRecording(Store& store);

// Ids of ended sessions (and interrupted ones, whose writer is gone) that have no index yet,
// oldest first. Running sessions are left for later.
Result<std::vector<std::string>> UnindexedSessions(Store& store);

// Writes one session's index rows in small transactions (see the top of this file).
// REQUIRES: the caller holds the store's IndexerLock for the writer's whole life. Not
// thread-safe. A writer destroyed without Finish leaves invisible rows the next indexer removes.
class SessionIndexWriter {
 public:
  // Starts indexing `session_id` (full id): removes rows an earlier indexer left unfinished.
  // Returns nullptr when the session is indexed already; NotFound when there is no such session.
  static Result<std::unique_ptr<SessionIndexWriter>> Begin(Store& store,
                                                           std::string_view session_id);
  ~SessionIndexWriter();
  SessionIndexWriter(const SessionIndexWriter&) = delete;
  SessionIndexWriter& operator=(const SessionIndexWriter&) = delete;

  // Adds a row (rows are numbered in the order they are added). Rows are gathered in memory and
  // a full batch is written in one short transaction (the write lock is never held while rows
  // are produced); NotFound when the session was pruned meanwhile (its rows are then removed).
  Status Add(int64_t t_ns, IndexKind kind, std::string_view text);
  // Commits the last batch and marks the session indexed.
  Status Finish();

  struct Impl;

 private:
  explicit SessionIndexWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct IndexHit {
  std::string session_id;
  int64_t started_at_ns = 0;  // the session's start (Unix UTC ns)
  int64_t t_ns = 0;           // session time of the entry
  IndexKind kind = IndexKind::kCommand;
  std::string text;
  int64_t id = 0;  // the entry's number (see IndexQuery::newest_first)
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

// Entries of indexed sessions matching `query` (the text is quoted as one FTS5 string, so no query
// syntax is interpreted):
// - commands: any substring, through the trigram index for a text of 3 characters or more, by a
//   scan for a shorter one;
// - output lines: through the word index (unicode61) when the text holds a letter or digit, so
//   the text's first and last words must be whole words of the line; the line must then hold
//   the text itself. A text without a letter or digit scans.
Result<std::vector<IndexHit>> QueryIndex(Store& store, const IndexQuery& query);

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_INDEX_STORE_H_
