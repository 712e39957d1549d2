// Internals shared by schema/store.cc and schema/session_writer.cc: RAII SQLite handles, the one
// place that opens and migrates a database, row encoding, and the live lock. Not for other
// folders (this is the only header that includes sqlite3.h).
#ifndef PODTAPE_SCHEMA_STORE_INTERNAL_H_
#define PODTAPE_SCHEMA_STORE_INTERNAL_H_

#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "schema/status.h"
#include "schema/store.h"

namespace podtape::store {

extern const std::string_view kSchemaSql;       // schema.sql, compiled in (schema_sql.cc.in)
extern const std::string_view kIndexSchemaSql;  // index_schema.sql, likewise

// A file's schema: its migration steps ("-- version N" sections) and the version they reach.
struct SchemaSpec {
  std::string_view sql;
  int version;
};
inline constexpr int kIndexSchemaVersion = 1;
// The store (schema.sql) and the search index file beside it (index_schema.sql).
SchemaSpec StoreSchema();
SchemaSpec IndexSchema();

// Turns an SQLite result code into a Status: "<what>: <sqlite3_errmsg>". SQLITE_FULL, SQLITE_IOERR
// and friends are IOError; SQLITE_CORRUPT/NOTADB Corruption; anything else IOError too.
Status SqlStatus(int rc, sqlite3* db, std::string_view what);

// Owns one sqlite3 connection (closed on destruction). Move-only.
class Db {
 public:
  Db() = default;
  explicit Db(sqlite3* db) : db_(db) {}
  ~Db() { sqlite3_close_v2(db_); }
  Db(Db&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept {
    std::swap(db_, o.db_);
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  sqlite3* get() const { return db_; }
  // Runs SQL without results (one or more statements).
  Status Exec(const char* sql, std::string_view what);

 private:
  sqlite3* db_ = nullptr;
};

// Owns one prepared statement (finalized on destruction). Prepare once; per use bind, step,
// Reset. Move-only.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(Stmt&& o) noexcept : stmt_(o.stmt_), db_(o.db_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(stmt_, o.stmt_);
    std::swap(db_, o.db_);
    return *this;
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepare(sqlite3* db, std::string_view sql);
  sqlite3_stmt* get() const { return stmt_; }
  // Clears bindings and resets, ready for the next use.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // Binders (1-based index). Text and blobs are bound SQLITE_STATIC: they must outlive the step.
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void Blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                      SQLITE_STATIC);
  }
  void Null(int i) { sqlite3_bind_null(stmt_, i); }
  // Steps once: true with a row, false when done; a Status on error (the statement is reset).
  Result<bool> Step(std::string_view what);
  // Steps a statement that returns no row, then resets it.
  Status Run(std::string_view what);

  // Column readers (0-based).
  int64_t ColInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  bool ColNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::string_view ColText(int i) const;
  std::string_view ColBlob(int i) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
};

// Opens `path` (or a private in-memory database for ":memory:"): creates a missing parent
// directory 0700 and a missing file 0600 (SQLite gives -wal and -shm the file's mode), sets the
// pragmas of every podtape connection (busy_timeout 5000 ms, WAL, synchronous NORMAL) and
// migrates the file to `schema` (refusing a newer one).
Result<Db> OpenDatabase(const std::string& path, const SchemaSpec& schema = StoreSchema());

// The columns of `sessions` that SessionRowFrom reads, in order, for "SELECT <kSessionColumns>".
extern const char kSessionColumns[];
// Decodes a row selected with kSessionColumns (short_id and the derived end_reason are left
// for the caller).
Result<SessionRow> SessionRowFrom(const Stmt& stmt);

// JSON array text for a list of strings, and back (Boost.JSON).
std::string ToJsonArray(const std::vector<std::string>& v);
Result<std::vector<std::string>> FromJsonArray(std::string_view text);

// ---- The live lock (schema/README.md "Running or interrupted") ----

// `suffix` appended to the store's real path: beside the real file, as SQLite puts -wal and -shm,
// so a store reached through a symlink or a relative path shares its sidecars with every other
// way of naming it.
std::string SidecarPath(const std::string& db_path, std::string_view suffix);
// The sidecar file whose byte k a live writer holds an OFD write lock on.
std::string LivePath(const std::string& db_path);
// The search index file (index_schema.sql).
std::string IndexPath(const std::string& db_path);
// A held slot; releases it (closes the file) on destruction.
class LiveSlot {
 public:
  LiveSlot() = default;
  ~LiveSlot();
  LiveSlot(LiveSlot&& o) noexcept : fd_(o.fd_), slot_(o.slot_) { o.fd_ = -1; }
  LiveSlot& operator=(LiveSlot&& o) noexcept;
  LiveSlot(const LiveSlot&) = delete;
  LiveSlot& operator=(const LiveSlot&) = delete;
  // Takes the lowest free slot of <db>.live (created 0600).
  static Result<LiveSlot> Acquire(const std::string& db_path);
  int64_t slot() const { return slot_; }
  void Release();

 private:
  int fd_ = -1;
  int64_t slot_ = -1;
};
// Tests slots of a store's .live file without taking them. Opens the file lazily, once.
class LiveProbe {
 public:
  explicit LiveProbe(std::string db_path) : db_path_(std::move(db_path)) {}
  ~LiveProbe();
  LiveProbe(const LiveProbe&) = delete;
  LiveProbe& operator=(const LiveProbe&) = delete;
  bool IsHeld(int64_t slot);
  // Is any slot held (a session of this store being recorded now)?
  bool AnyHeld();

 private:
  bool Probe(int64_t start, int64_t len);
  std::string db_path_;
  int fd_ = -1;
  bool tried_ = false;
};

}  // namespace podtape::store

// The state behind a Store; SessionWriter shares it for in-memory stores.
struct podtape::store::Store::Impl {
  std::string path;
  bool in_memory = false;
  Db db;
  // Serialises every use of `db` (a writer sharing an in-memory store takes it too).
  std::recursive_mutex mu;
  // In-memory stores: ids of sessions whose writer is alive (files use the .live lock).
  std::set<std::string, std::less<>> live_ids;
};

#endif  // PODTAPE_SCHEMA_STORE_INTERNAL_H_
