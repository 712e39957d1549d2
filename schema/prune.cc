#include "schema/prune.h"

#include <fmt/format.h>
#include <unistd.h>

#include "schema/store_internal.h"

namespace podtape::store {
namespace {

Status DeleteIndexRows(const std::string& index_path, int64_t key) {
  Result<Db> ix = OpenDatabase(index_path, IndexSchema());
  if (!ix.ok()) return ix.status();
  Stmt del, unmark;
  PODTAPE_RETURN_IF_ERROR(del.Prepare(ix->get(), "DELETE FROM index_lines WHERE session_key = ?1"));
  PODTAPE_RETURN_IF_ERROR(
      unmark.Prepare(ix->get(), "DELETE FROM indexed_sessions WHERE session_key = ?1"));
  del.Int(1, key);
  unmark.Int(1, key);
  PODTAPE_RETURN_IF_ERROR(ix->Exec("BEGIN IMMEDIATE", "starting to prune the index"));
  Status st = del.Run("deleting the session's index rows");
  if (st.ok()) st = unmark.Run("deleting the session's index mark");
  if (st.ok()) st = ix->Exec("COMMIT", "committing the index prune");
  if (!st.ok()) sqlite3_exec(ix->get(), "ROLLBACK", nullptr, nullptr, nullptr);
  return st;
}

}  // namespace

Result<int64_t> DeleteSession(Store& store, std::string_view session_id) {
  if (store.in_memory()) {
    return Status::Unsupported("pruning works on a store file, not an in-memory store");
  }
  Result<Db> db = OpenDatabase(store.path());
  if (!db.ok()) return db.status();
  sqlite3* h = db->get();
  // BEGIN IMMEDIATE: the live check and the deletes see one state of the file, and a writer
  // that starts meanwhile waits (busy_timeout) rather than interleaving.
  PODTAPE_RETURN_IF_ERROR(db->Exec("BEGIN IMMEDIATE", "starting to prune"));
  auto fail = [&](Status st) {
    sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  };
  Stmt find;
  PODTAPE_RETURN_IF_ERROR(find.Prepare(
      h, "SELECT session_key, ended_at_ns IS NOT NULL, live_slot FROM sessions WHERE id = ?1"));
  find.Text(1, session_id);
  Result<bool> row = find.Step("finding the session to prune");
  if (!row.ok()) return fail(row.status());
  if (!*row) return fail(Status::NotFound(fmt::format("no session {}", session_id)));
  const int64_t key = find.ColInt(0);
  const bool ended = find.ColInt(1) != 0;
  const bool has_slot = !find.ColNull(2);
  const int64_t slot = has_slot ? find.ColInt(2) : -1;
  find.Reset();
  if (!ended && has_slot) {
    LiveProbe probe(store.path());
    if (probe.IsHeld(slot)) {
      return fail(Status::InvalidArgument(fmt::format(
          "session {} is still running: it cannot be pruned until it ends", session_id)));
    }
  }
  Stmt del;
  PODTAPE_RETURN_IF_ERROR(del.Prepare(h, "DELETE FROM frames WHERE session_key = ?1"));
  del.Int(1, key);
  Status st = del.Run("deleting the session's frames");
  if (!st.ok()) return fail(st);
  const int64_t frames = sqlite3_changes64(h);
  Stmt del_row;
  PODTAPE_RETURN_IF_ERROR(del_row.Prepare(h, "DELETE FROM sessions WHERE session_key = ?1"));
  del_row.Int(1, key);
  st = del_row.Run("deleting the session");
  if (!st.ok()) return fail(st);
  st = db->Exec("COMMIT", "committing the prune");
  if (!st.ok()) return fail(st);
  // Then its rows in the search index file, when there is one. Rows left behind (should this
  // fail) name a session the store no longer has: searches never show them, and the indexer of
  // the next session the store gives the same key removes them.
  const std::string index_path = IndexPath(store.path());
  if (access(index_path.c_str(), F_OK) == 0) (void)DeleteIndexRows(index_path, key);
  return frames;
}

}  // namespace podtape::store
