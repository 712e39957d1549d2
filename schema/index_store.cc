#include "schema/index_store.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <thread>

#include "schema/store_internal.h"

namespace podtape::store {
namespace {

Status CheckFileStore(Store& store) {
  if (store.in_memory()) {
    return Status::Unsupported("the command index needs a store file, not an in-memory store");
  }
  return Status::OK();
}

// A connection to the index file alone: its write transactions lock nothing of the store.
Result<Db> OpenIndexFile(Store& store) {
  PODTAPE_RETURN_IF_ERROR(CheckFileStore(store));
  return OpenDatabase(IndexPath(store.path()), IndexSchema());
}

// A connection to the store with the index file attached as "ix", for reads that join the two
// (never for writes: BEGIN IMMEDIATE would take both files' write locks). The index file is
// opened on its own first, so that it exists (0600) and has its schema before it is attached:
// ATTACH would create a missing file with SQLite's default mode.
Result<Db> OpenForReading(Store& store) {
  Result<Db> ix = OpenIndexFile(store);
  if (!ix.ok()) return ix.status();
  Result<Db> db = OpenDatabase(store.path());
  if (!db.ok()) return db.status();
  Stmt attach;
  PODTAPE_RETURN_IF_ERROR(attach.Prepare(db->get(), "ATTACH DATABASE ?1 AS ix"));
  const std::string path = IndexPath(store.path());
  attach.Text(1, path);
  PODTAPE_RETURN_IF_ERROR(attach.Run("attaching the search index to the store"));
  return db;
}

// "abc" -> "\"abc\"": one FTS5 string, quotes doubled, so no operator is interpreted.
std::string Fts5String(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// "%text%" for LIKE with '\' as escape.
std::string LikePattern(std::string_view text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

IndexerLock::~IndexerLock() {
  if (fd_ >= 0) close(fd_);  // drops the flock
}

IndexerLock& IndexerLock::operator=(IndexerLock&& o) noexcept {
  std::swap(fd_, o.fd_);
  return *this;
}

Result<IndexerLock> IndexerLock::Acquire(Store& store, std::chrono::milliseconds wait) {
  PODTAPE_RETURN_IF_ERROR(CheckFileStore(store));
  // Beside the real file, as the live lock is: every name of the store shares one lock.
  const std::string path = SidecarPath(store.path(), ".indexing");
  IndexerLock lock;
  lock.fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock.fd_ < 0) {
    return Status::IOError(
        fmt::format("opening the indexer lock file {}: {}", path, std::strerror(errno)));
  }
  if (wait.count() < 0) {
    while (flock(lock.fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return Status::IOError(
            fmt::format("locking the indexer lock file {}: {}", path, std::strerror(errno)));
      }
    }
    return lock;
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (flock(lock.fd_, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Status::IOError(
          fmt::format("locking the indexer lock file {}: {}", path, std::strerror(errno)));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      close(lock.fd_);
      lock.fd_ = -1;
      return lock;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool AnySessionRecording(Store& store) {
  if (store.in_memory()) return false;
  LiveProbe probe(store.path());
  return probe.AnyHeld();
}

Result<std::vector<std::string>> UnindexedSessions(Store& store) {
  Result<Db> db = OpenForReading(store);
  if (!db.ok()) return db.status();
  // Candidates first; whether an unended one is still running is the live lock's to say.
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(
      s.Prepare(db->get(),
                "SELECT s.id, s.ended_at_ns IS NOT NULL, s.live_slot FROM sessions s "
                "LEFT JOIN ix.indexed_sessions i ON i.session_key = s.session_key AND "
                "i.session_id = s.id WHERE i.session_key IS NULL "
                "ORDER BY s.started_at_ns, s.session_key"));
  std::vector<std::string> out;
  LiveProbe probe(store.path());
  for (;;) {
    Result<bool> row = s.Step("listing sessions to index");
    if (!row.ok()) return row.status();
    if (!*row) break;
    const bool ended = s.ColInt(1) != 0;
    if (!ended && !s.ColNull(2) && probe.IsHeld(s.ColInt(2))) continue;  // running
    out.emplace_back(s.ColText(0));
  }
  return out;
}

struct SessionIndexWriter::Impl {
  Db db;        // the index file alone (its transactions never lock the store)
  Db store_db;  // the store, read to check that the session is still there
  int64_t key = 0;
  std::string id;
  Stmt exists, insert, remove, unmark;
  bool in_txn = false;
  // The batch being gathered: written in one short transaction when full, so the write lock is
  // never held while the rows are being produced.
  std::vector<IndexEntry> batch;
  size_t batch_bytes = 0;

  ~Impl() {
    if (in_txn) sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  Status Rollback(Status st) {
    if (in_txn) sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    in_txn = false;
    return st;
  }

  // Removes the session's rows, a batch per transaction.
  Status RemoveRows() {
    for (;;) {
      PODTAPE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "starting to clear the index"));
      in_txn = true;
      remove.Int(1, key);
      remove.Int(2, static_cast<int64_t>(kIndexBatchEntries));
      Status st = remove.Run("clearing an unfinished index");
      if (!st.ok()) return Rollback(st);
      const int64_t n = sqlite3_changes64(db.get());
      // A mark left by a pruned session the store gave the same key.
      unmark.Int(1, key);
      if (n == 0) st = unmark.Run("clearing an old index mark");
      if (!st.ok()) return Rollback(st);
      st = db.Exec("COMMIT", "committing the index");
      if (!st.ok()) return Rollback(st);
      in_txn = false;
      if (n == 0) return Status::OK();
    }
  }

  // Opens a batch's transaction once the session is seen to be still there (prune may have
  // removed it; should it do so during the batch, the rows name a session the store no longer
  // has, which searches never show, and prune or the next indexer of its key removes them).
  Status BeginBatch() {
    exists.Int(1, key);
    exists.Text(2, id);
    Result<bool> row = exists.Step("checking the session being indexed");
    exists.Reset();
    if (!row.ok()) return row.status();
    if (!*row) {
      PODTAPE_RETURN_IF_ERROR(RemoveRows());
      return Status::NotFound("the session was removed while it was being indexed");
    }
    PODTAPE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "starting to write the index"));
    in_txn = true;
    return Status::OK();
  }

  // Inserts the gathered batch (in the open transaction).
  Status InsertBatch() {
    for (const IndexEntry& e : batch) {
      insert.Int(1, key);
      insert.Int(2, e.t_ns);
      insert.Int(3, static_cast<int>(e.kind));
      insert.Text(4, e.text);
      Status st = insert.Run("writing the index");
      if (!st.ok()) return Rollback(st);
    }
    batch.clear();
    batch_bytes = 0;
    return Status::OK();
  }

  Status Commit() {
    Status st = db.Exec("COMMIT", "committing the index");
    if (!st.ok()) return Rollback(st);
    in_txn = false;
    return Status::OK();
  }
};

SessionIndexWriter::SessionIndexWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SessionIndexWriter::~SessionIndexWriter() = default;

Result<std::unique_ptr<SessionIndexWriter>> SessionIndexWriter::Begin(Store& store,
                                                                      std::string_view session_id) {
  auto m = std::make_unique<Impl>();
  {
    Result<Db> db = OpenIndexFile(store);
    if (!db.ok()) return db.status();
    m->db = std::move(*db);
    Result<Db> store_db = OpenDatabase(store.path());
    if (!store_db.ok()) return store_db.status();
    m->store_db = std::move(*store_db);
  }
  Stmt find;
  PODTAPE_RETURN_IF_ERROR(
      find.Prepare(m->store_db.get(), "SELECT session_key FROM sessions WHERE id = ?1"));
  find.Text(1, session_id);
  Result<bool> row = find.Step("finding the session to index");
  if (!row.ok()) return row.status();
  if (!*row) return Status::NotFound(fmt::format("no session {} to index", session_id));
  m->key = find.ColInt(0);
  m->id = std::string(session_id);
  find.Reset();
  sqlite3* h = m->db.get();
  Stmt done;
  PODTAPE_RETURN_IF_ERROR(
      done.Prepare(h, "SELECT 1 FROM indexed_sessions WHERE session_key = ?1 AND session_id = ?2"));
  done.Int(1, m->key);
  done.Text(2, m->id);
  row = done.Step("checking whether the session is indexed");
  if (!row.ok()) return row.status();
  if (*row) return std::unique_ptr<SessionIndexWriter>();
  PODTAPE_RETURN_IF_ERROR(m->exists.Prepare(
      m->store_db.get(), "SELECT 1 FROM sessions WHERE session_key = ?1 AND id = ?2"));
  PODTAPE_RETURN_IF_ERROR(m->insert.Prepare(
      h, "INSERT INTO index_lines (session_key, t_ns, kind, text) VALUES (?1, ?2, ?3, ?4)"));
  PODTAPE_RETURN_IF_ERROR(
      m->remove.Prepare(h,
                        "DELETE FROM index_lines WHERE id IN "
                        "(SELECT id FROM index_lines WHERE session_key = ?1 LIMIT ?2)"));
  PODTAPE_RETURN_IF_ERROR(
      m->unmark.Prepare(h, "DELETE FROM indexed_sessions WHERE session_key = ?1"));
  PODTAPE_RETURN_IF_ERROR(m->RemoveRows());  // what an indexer that died part-way left
  return std::unique_ptr<SessionIndexWriter>(new SessionIndexWriter(std::move(m)));
}

Status SessionIndexWriter::Add(int64_t t_ns, IndexKind kind, std::string_view text) {
  Impl& m = *impl_;
  m.batch.push_back({t_ns, kind, std::string(text)});
  m.batch_bytes += text.size();
  if (m.batch.size() < kIndexBatchEntries && m.batch_bytes < kIndexBatchBytes) {
    return Status::OK();
  }
  PODTAPE_RETURN_IF_ERROR(m.BeginBatch());
  PODTAPE_RETURN_IF_ERROR(m.InsertBatch());
  return m.Commit();
}

Status SessionIndexWriter::Finish() {
  Impl& m = *impl_;
  PODTAPE_RETURN_IF_ERROR(m.BeginBatch());
  PODTAPE_RETURN_IF_ERROR(m.InsertBatch());
  Stmt mark;
  PODTAPE_RETURN_IF_ERROR(mark.Prepare(m.db.get(),
                                       "INSERT OR REPLACE INTO indexed_sessions (session_key, "
                                       "session_id, indexed_at_ns) VALUES (?1, ?3, ?2)"));
  mark.Int(1, m.key);
  mark.Text(3, m.id);
  mark.Int(2, std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count());
  Status st = mark.Run("marking the session indexed");
  if (!st.ok()) return m.Rollback(st);
  return m.Commit();
}

namespace {

// Does the text hold a character unicode61 makes a token of (a letter or digit; any non-ASCII
// character counts, as unicode61 keeps most of them)?
bool HasWordCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u);
  });
}

// One kind's hits, in id order, at most q.limit of them.
Status QueryKind(sqlite3* db, const IndexQuery& q, IndexKind kind, std::vector<IndexHit>* out) {
  enum class How { kAll, kTrigram, kWords, kScan };
  How how = How::kAll;
  if (!q.text.empty()) {
    if (kind == IndexKind::kCommand) {
      how = Utf8Length(q.text) >= 3 ? How::kTrigram : How::kScan;
    } else {
      how = HasWordCharacter(q.text) ? How::kWords : How::kScan;
    }
  }
  // An FTS5 table drives the query in rowid order, so a LIMIT stops the scan early.
  std::string sql;
  const char* id = "l.id";
  if (how == How::kTrigram || how == How::kWords) {
    const char* table = how == How::kTrigram ? "index_fts" : "output_fts";
    sql = fmt::format(
        "SELECT s.id, s.started_at_ns, l.t_ns, l.text, l.id FROM ix.{0} f "
        "JOIN ix.index_lines l ON l.id = f.rowid "
        "JOIN ix.indexed_sessions i ON i.session_key = l.session_key "
        "JOIN sessions s ON s.session_key = l.session_key AND s.id = i.session_id "
        "WHERE {0} MATCH ?1",
        table);
    id = "f.rowid";
    // The words found, then the text itself (the word index ignores what lies between words).
    if (how == How::kWords) sql += " AND l.text LIKE ?9 ESCAPE '\\'";
  } else {
    sql =
        "SELECT s.id, s.started_at_ns, l.t_ns, l.text, l.id FROM ix.index_lines l "
        "JOIN ix.indexed_sessions i ON i.session_key = l.session_key "
        "JOIN sessions s ON s.session_key = l.session_key AND s.id = i.session_id "
        "WHERE l.kind = ?2";
    if (how == How::kScan) sql += " AND l.text LIKE ?9 ESCAPE '\\'";
  }
  const SessionFilter& f = q.filter;
  if (!f.namespace_.empty()) sql += " AND s.namespace = ?3";
  if (!f.pod.empty()) sql += " AND s.pod = ?4";
  if (!f.container.empty()) sql += " AND s.container = ?5";
  if (!f.user.empty()) {
    sql += " AND (s.user = ?6 OR s.kube_user = ?6 OR s.as_user = ?6 OR s.local_user = ?6)";
  }
  if (f.since_ns) sql += " AND s.started_at_ns >= ?7";
  if (f.until_ns) sql += " AND s.started_at_ns <= ?8";
  sql += fmt::format(" ORDER BY {} {}", id, q.newest_first ? "DESC" : "ASC");
  if (q.limit > 0) sql += fmt::format(" LIMIT {}", q.limit);
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(s.Prepare(db, sql));
  // The query as one FTS5 string, so no operator is interpreted. (Bound without a copy: both
  // strings outlive the statement's steps.)
  std::string match = Fts5String(q.text);
  const std::string like = LikePattern(q.text);
  s.Text(1, match);
  s.Int(2, static_cast<int>(kind));
  s.Text(3, f.namespace_);
  s.Text(4, f.pod);
  s.Text(5, f.container);
  s.Text(6, f.user);
  if (f.since_ns) s.Int(7, *f.since_ns);
  if (f.until_ns) s.Int(8, *f.until_ns);
  s.Text(9, like);
  for (;;) {
    Result<bool> row = s.Step("searching the index");
    if (!row.ok()) return row.status();
    if (!*row) break;
    IndexHit h;
    h.session_id = std::string(s.ColText(0));
    h.started_at_ns = s.ColInt(1);
    h.t_ns = s.ColInt(2);
    h.kind = kind;
    h.text = std::string(s.ColText(3));
    h.id = s.ColInt(4);
    out->push_back(std::move(h));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<IndexHit>> QueryIndex(Store& store, const IndexQuery& q) {
  Result<Db> db = OpenForReading(store);
  if (!db.ok()) return db.status();
  // Each kind has its own full-text index: both are asked for their first `limit` hits, merged
  // by id, and cut to `limit`. Both read in one transaction, so they see one state of both files.
  PODTAPE_RETURN_IF_ERROR(db->Exec("BEGIN", "starting to search the index"));
  std::vector<IndexHit> commands, output;
  Status st = Status::OK();
  if (!q.kind || *q.kind == IndexKind::kCommand) {
    st = QueryKind(db->get(), q, IndexKind::kCommand, &commands);
  }
  if (st.ok() && (!q.kind || *q.kind == IndexKind::kOutput)) {
    st = QueryKind(db->get(), q, IndexKind::kOutput, &output);
  }
  sqlite3_exec(db->get(), "COMMIT", nullptr, nullptr, nullptr);
  if (!st.ok()) return st;
  std::vector<IndexHit> out;
  out.reserve(commands.size() + output.size());
  auto before = [&](const IndexHit& a, const IndexHit& b) {
    return q.newest_first ? a.id > b.id : a.id < b.id;
  };
  std::merge(std::make_move_iterator(commands.begin()), std::make_move_iterator(commands.end()),
             std::make_move_iterator(output.begin()), std::make_move_iterator(output.end()),
             std::back_inserter(out), before);
  if (q.limit > 0 && out.size() > static_cast<size_t>(q.limit)) out.resize(q.limit);
  return out;
}

}  // namespace podtape::store
