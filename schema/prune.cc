#include "schema/prune.h"

#include <fmt/format.h>

#include "schema/store_internal.h"

namespace podtape::store {

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
  Stmt del_index;
  PODTAPE_RETURN_IF_ERROR(del_index.Prepare(h, "DELETE FROM index_lines WHERE session_key = ?1"));
  del_index.Int(1, key);
  st = del_index.Run("deleting the session's index rows");
  if (!st.ok()) return fail(st);
  Stmt del_mark;
  PODTAPE_RETURN_IF_ERROR(
      del_mark.Prepare(h, "DELETE FROM indexed_sessions WHERE session_key = ?1"));
  del_mark.Int(1, key);
  st = del_mark.Run("deleting the session's index mark");
  if (!st.ok()) return fail(st);
  Stmt del_row;
  PODTAPE_RETURN_IF_ERROR(del_row.Prepare(h, "DELETE FROM sessions WHERE session_key = ?1"));
  del_row.Int(1, key);
  st = del_row.Run("deleting the session");
  if (!st.ok()) return fail(st);
  st = db->Exec("COMMIT", "committing the prune");
  if (!st.ok()) return fail(st);
  return frames;
}

}  // namespace podtape::store
