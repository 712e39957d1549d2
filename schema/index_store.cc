#include "schema/index_store.h"

#include <fmt/format.h>

#include <chrono>

#include "schema/store_internal.h"

namespace podtape::store {
namespace {

Result<Db> OpenFor(Store& store) {
  if (store.in_memory()) {
    return Status::Unsupported("the command index needs a store file, not an in-memory store");
  }
  return OpenDatabase(store.path());
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

Result<std::vector<std::string>> UnindexedSessions(Store& store) {
  Result<Db> db = OpenFor(store);
  if (!db.ok()) return db.status();
  // Candidates first; whether an unended one is still running is the live lock's to say.
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(
      s.Prepare(db->get(),
                "SELECT s.id, s.ended_at_ns IS NOT NULL, s.live_slot FROM sessions s "
                "LEFT JOIN indexed_sessions i USING (session_key) WHERE i.session_key IS NULL "
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

Result<bool> WriteSessionIndex(Store& store, std::string_view session_id,
                               const std::vector<IndexEntry>& entries) {
  Result<Db> db = OpenFor(store);
  if (!db.ok()) return db.status();
  sqlite3* h = db->get();
  PODTAPE_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE", "starting to write the index"));
  auto fail = [&](Status st) -> Result<bool> {
    sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  };
  Stmt find;
  PODTAPE_RETURN_IF_ERROR(
      find.Prepare(h,
                   "SELECT s.session_key, i.session_key IS NOT NULL FROM sessions s "
                   "LEFT JOIN indexed_sessions i USING (session_key) WHERE s.id = ?1"));
  find.Text(1, session_id);
  Result<bool> row = find.Step("finding the session to index");
  if (!row.ok()) return fail(row.status());
  if (!*row) return fail(Status::NotFound(fmt::format("no session {} to index", session_id)));
  const int64_t key = find.ColInt(0);
  const bool done = find.ColInt(1) != 0;
  find.Reset();
  if (done) {
    sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  }
  Stmt ins;
  PODTAPE_RETURN_IF_ERROR(ins.Prepare(
      h, "INSERT INTO index_lines (session_key, t_ns, kind, text) VALUES (?1, ?2, ?3, ?4)"));
  for (const IndexEntry& e : entries) {
    ins.Int(1, key);
    ins.Int(2, e.t_ns);
    ins.Int(3, static_cast<int>(e.kind));
    ins.Text(4, e.text);
    Status st = ins.Run("writing the index");
    if (!st.ok()) return fail(st);
  }
  Stmt mark;
  PODTAPE_RETURN_IF_ERROR(
      mark.Prepare(h, "INSERT INTO indexed_sessions (session_key, indexed_at_ns) VALUES (?1, ?2)"));
  mark.Int(1, key);
  mark.Int(2, std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count());
  Status st = mark.Run("marking the session indexed");
  if (!st.ok()) return fail(st);
  st = db->Exec("COMMIT", "committing the index");
  if (!st.ok()) return fail(st);
  return true;
}

Result<std::vector<IndexHit>> QueryIndex(Store& store, const IndexQuery& q) {
  Result<Db> db = OpenFor(store);
  if (!db.ok()) return db.status();
  const bool fts = Utf8Length(q.text) >= 3;
  // The FTS5 table drives the query in rowid order, so a LIMIT stops the scan early.
  std::string sql =
      fts ? "SELECT s.id, s.started_at_ns, l.t_ns, l.kind, l.text FROM index_fts f "
            "JOIN index_lines l ON l.id = f.rowid "
            "JOIN sessions s ON s.session_key = l.session_key WHERE index_fts MATCH ?1"
          : "SELECT s.id, s.started_at_ns, l.t_ns, l.kind, l.text FROM index_lines l "
            "JOIN sessions s ON s.session_key = l.session_key WHERE 1";
  if (!fts && !q.text.empty()) {
    sql += " AND l.text LIKE ?1 ESCAPE '\\'";
  }
  if (q.kind) sql += " AND l.kind = ?2";
  const SessionFilter& f = q.filter;
  if (!f.namespace_.empty()) sql += " AND s.namespace = ?3";
  if (!f.pod.empty()) sql += " AND s.pod = ?4";
  if (!f.container.empty()) sql += " AND s.container = ?5";
  if (!f.user.empty()) {
    sql += " AND (s.user = ?6 OR s.kube_user = ?6 OR s.as_user = ?6 OR s.local_user = ?6)";
  }
  if (f.since_ns) sql += " AND s.started_at_ns >= ?7";
  if (f.until_ns) sql += " AND s.started_at_ns <= ?8";
  const char* id = fts ? "f.rowid" : "l.id";
  sql += fmt::format(" ORDER BY {} {}", id, q.newest_first ? "DESC" : "ASC");
  if (q.limit > 0) sql += fmt::format(" LIMIT {}", q.limit);
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(s.Prepare(db->get(), sql));
  std::string pattern = fts ? Fts5String(q.text) : LikePattern(q.text);
  if (!q.text.empty()) s.Text(1, pattern);
  if (q.kind) s.Int(2, static_cast<int>(*q.kind));
  s.Text(3, f.namespace_);
  s.Text(4, f.pod);
  s.Text(5, f.container);
  s.Text(6, f.user);
  if (f.since_ns) s.Int(7, *f.since_ns);
  if (f.until_ns) s.Int(8, *f.until_ns);
  std::vector<IndexHit> out;
  for (;;) {
    Result<bool> row = s.Step("searching the index");
    if (!row.ok()) return row.status();
    if (!*row) break;
    IndexHit h;
    h.session_id = std::string(s.ColText(0));
    h.started_at_ns = s.ColInt(1);
    h.t_ns = s.ColInt(2);
    h.kind = static_cast<IndexKind>(s.ColInt(3));
    h.text = std::string(s.ColText(4));
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace podtape::store
