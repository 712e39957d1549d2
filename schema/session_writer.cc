// SessionWriter: the producer side (Append copies into a double-buffered batch, nothing more) and
// the writer thread (hashes the chain, compresses payloads, inserts a batch per transaction on its
// own connection, then updates the session row).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "schema/payload_codec.h"
#include "schema/store.h"
#include "schema/store_internal.h"

namespace podtape::store {

namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Commit a batch early once this share of the queue bound is waiting.
constexpr size_t kEarlyBatchDivisor = 4;
// Run a PASSIVE checkpoint from the writer thread between batches once the WAL holds this many
// pages (automatic checkpoints are off on the writer's connection, so commits never pay for one).
constexpr int kCheckpointPages = 1000;
// How long a writer waits for other processes' write transactions before it reports a failure.
constexpr std::chrono::seconds kBusyGiveUp{60};

// One queued item: a frame (its payload in Batch::arena) or a metadata update. The producer fills
// the first fields; the writer thread fills hash, codec and the stored bytes' place.
struct Entry {
  int64_t seq;
  int64_t t_ns;
  size_t offset;
  size_t len;
  Direction direction;
  uint8_t channel;
  bool is_meta;
  uint32_t meta_index;
  // Writer thread only.
  uint8_t codec = kCodecRaw;
  size_t stored_offset = 0;  // in Batch::encoded when codec is neither raw nor in a group
  size_t stored_len = 0;
  Hash hash{};
};
// What Append charges against the queue bound per frame, besides its payload.
constexpr size_t kEntryCost = sizeof(Entry);

struct Batch {
  std::string arena;   // logical payloads, back to back (the producer's one copy)
  ByteBuffer encoded;  // compressed payloads (writer thread)
  std::vector<Entry> entries;
  std::vector<SessionMeta> metas;
  void Clear() {
    arena.clear();  // keeps capacity: the next batch reuses the memory
    encoded.Clear();
    entries.clear();
    metas.clear();
  }
};

// The 23 metadata columns that UpdateMeta may change, in bind order.
constexpr char kMetaColumns[] =
    "server, cluster, context, namespace, pod, container, command, tty, stdin, protocol, "
    "term_cols, term_rows, term_type, title, user, groups, user_source, kube_user, as_user, "
    "as_groups, local_user, host, recorder_version";
constexpr int kMetaCount = 23;

void BindMeta(Stmt& s, int first, const SessionMeta& m) {
  sqlite3_stmt* st = s.get();
  auto text = [&](int i, const std::string& v) {
    sqlite3_bind_text(st, first + i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  };
  auto list = [&](int i, const std::vector<std::string>& v) {
    std::string j = ToJsonArray(v);
    sqlite3_bind_text(st, first + i, j.data(), static_cast<int>(j.size()), SQLITE_TRANSIENT);
  };
  text(0, m.server);
  text(1, m.cluster);
  text(2, m.context);
  text(3, m.namespace_);
  text(4, m.pod);
  text(5, m.container);
  list(6, m.command);
  sqlite3_bind_int(st, first + 7, m.tty ? 1 : 0);
  sqlite3_bind_int(st, first + 8, m.stdin_ ? 1 : 0);
  text(9, m.protocol);
  sqlite3_bind_int(st, first + 10, m.term_cols);
  sqlite3_bind_int(st, first + 11, m.term_rows);
  text(12, m.term_type);
  text(13, m.title);
  text(14, m.user);
  list(15, m.groups);
  text(16, m.user_source);
  text(17, m.kube_user);
  text(18, m.as_user);
  list(19, m.as_groups);
  text(20, m.local_user);
  text(21, m.host);
  text(22, m.recorder_version);
}

// Metadata as the row will read back, so the seal computed here matches the stored row.
void StoredForm(SessionMeta& m) {
  if (m.user_source.empty()) m.user_source = "none";
}

std::string_view HashBytes(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

struct SessionWriter::Impl {
  Options options;
  SessionMeta meta;  // as inserted; the writer thread's copy follows UpdateMeta
  SessionMeta current_meta;
  int64_t session_key = 0;

  // The connection: our own (files) or an in-memory Store's, shared under its mutex.
  Db own_db;
  sqlite3* db = nullptr;
  Store::Impl* shared = nullptr;  // non-null for an in-memory store
  std::string db_path;
  LiveSlot live;

  Stmt insert_frame, update_counters, update_meta, finish_row;
  int wal_pages = 0;  // WAL size after the last commit (wal hook)

  // Producer-only state.
  int64_t next_seq = 0;

  // Shared state, guarded by mu.
  std::mutex mu;
  std::condition_variable work_cv;   // writer waits for frames / finish
  std::condition_variable space_cv;  // producer waits for room
  std::condition_variable done_cv;
  Batch pending;
  size_t pending_cost = 0;
  size_t queued_cost = 0;  // pending + the batch being written
  SteadyClock::time_point first_pending;
  bool writer_idle = false;
  int64_t failed_writes = 0;  // batches and end writes that failed
  bool fail_open = false;
  Status error;  // the first write failure
  // A write failed and the writer fails closed: nothing more is written or accepted. mu held.
  bool FailedClosed() const { return !error.ok() && !fail_open; }
  bool finish_requested = false;
  bool stop_requested = false;
  bool finish_called = false;
  bool done = false;
  SessionEnd end;
  Status finish_status;

  // Writer-thread state.
  Batch work;
  PayloadEncoder encoder;
  std::vector<PayloadEncoder::RunFrame> run;       // EncodeBatch's, reused
  std::vector<PayloadEncoder::Stored> run_stored;  // EncodeBatch's, reused
  Hash committed_head{};
  bool has_frames = false;
  int64_t frames = 0;
  int64_t bytes = 0;
  bool gap = false;  // a batch was dropped (fail-open): recording_complete = 0
  std::thread thread;

  ~Impl() {
    // Statements of a shared in-memory connection are finalized under its mutex.
    std::unique_lock<std::recursive_mutex> lock;
    if (shared != nullptr) lock = std::unique_lock(shared->mu);
    insert_frame = Stmt();
    update_counters = Stmt();
    update_meta = Stmt();
    finish_row = Stmt();
  }

  std::unique_lock<std::recursive_mutex> LockDb() {
    return shared != nullptr ? std::unique_lock(shared->mu)
                             : std::unique_lock<std::recursive_mutex>();
  }

  Status Exec(const char* sql, std::string_view what) {
    return SqlStatus(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), db, what);
  }

  // BEGIN IMMEDIATE, waiting out other processes' write transactions: each attempt waits up to
  // the busy_timeout (5 s) and the store is given up on only after kBusyGiveUp. Frames stay
  // queued meanwhile (the producer feels back-pressure, nothing is dropped).
  Status Begin(std::string_view what) {
    const auto give_up = SteadyClock::now() + kBusyGiveUp;
    for (;;) {
      int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return Status::OK();
      if ((rc & 0xff) != SQLITE_BUSY || SteadyClock::now() >= give_up) {
        return SqlStatus(rc, db, what);
      }
    }
  }

  Status Prepare() {
    PODTAPE_RETURN_IF_ERROR(insert_frame.Prepare(
        db,
        "INSERT INTO frames (session_key, seq, t_ns, direction, channel, codec, payload, hash) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    PODTAPE_RETURN_IF_ERROR(update_counters.Prepare(
        db,
        "UPDATE sessions SET frames = ?2, bytes = ?3, chain_head = ?4, recording_complete = ?5 "
        "WHERE session_key = ?1"));
    std::string set;
    {
      std::string_view cols = kMetaColumns;
      int i = 2;
      size_t pos = 0;
      while (pos < cols.size()) {
        size_t comma = cols.find(',', pos);
        if (comma == std::string_view::npos) comma = cols.size();
        if (!set.empty()) set += ", ";
        set += fmt::format("{} = ?{}", cols.substr(pos, comma - pos), i++);
        pos = comma + 2;
      }
    }
    PODTAPE_RETURN_IF_ERROR(
        update_meta.Prepare(db, fmt::format("UPDATE sessions SET {} WHERE session_key = ?1", set)));
    return finish_row.Prepare(
        db,
        "UPDATE sessions SET ended_at_ns = ?2, end_reason = ?3, error = ?4, exit_code = ?5, "
        "raw_status = ?6, close_code = ?7, close_reason = ?8, recording_complete = ?9, "
        "frames = ?10, bytes = ?11, chain_head = ?12, seal = ?13, signature = ?14, "
        "live_slot = NULL "
        "WHERE session_key = ?1");
  }

  // Inserts the session row (and, for files, takes over the live slot from dead writers).
  Status InsertSession() {
    std::string sql = fmt::format(
        "INSERT INTO sessions (id, kind, started_at_ns, live_slot, {}) VALUES (?1, ?2, ?3, ?4",
        kMetaColumns);
    for (int i = 0; i < kMetaCount; ++i) sql += fmt::format(", ?{}", 5 + i);
    sql += ")";
    Stmt ins;
    PODTAPE_RETURN_IF_ERROR(ins.Prepare(db, sql));
    ins.Text(1, meta.id);
    ins.Text(2, meta.kind);
    ins.Int(3, meta.started_at_ns);
    if (shared == nullptr) {
      ins.Int(4, live.slot());
    } else {
      ins.Null(4);
    }
    BindMeta(ins, 5, meta);
    PODTAPE_RETURN_IF_ERROR(Begin("starting a session"));
    Status st;
    if (shared == nullptr) {
      // A session still marked with our slot lost its writer: it no longer reads as running.
      Stmt clear;
      st = clear.Prepare(
          db, "UPDATE sessions SET live_slot = NULL WHERE live_slot = ?1 AND ended_at_ns IS NULL");
      if (st.ok()) {
        clear.Int(1, live.slot());
        st = clear.Run("releasing a dead writer's slot");
      }
    }
    if (st.ok()) st = ins.Run("inserting the session");
    if (st.ok()) {
      session_key = sqlite3_last_insert_rowid(db);
      st = Exec("COMMIT", "committing the session");
    }
    if (!st.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }

  // Writer thread, before the transaction (so other writers of the file are not held up by it):
  // chains every frame of the batch from the committed head and compresses what pays. Only the
  // batch's own buffers are touched; a batch that then fails leaves committed_head as it was.
  void EncodeBatch(Batch& b) {
    Hash head = committed_head;
    run.clear();
    for (Entry& e : b.entries) {
      if (e.is_meta) continue;
      std::string_view payload(b.arena.data() + e.offset, e.len);
      e.hash = ChainNext(head, e.seq, e.t_ns, e.direction, e.channel, payload);
      head = e.hash;
      run.push_back(
          {payload, static_cast<uint16_t>(static_cast<int>(e.direction) << 8 | e.channel)});
    }
    run_stored.resize(run.size());
    encoder.EncodeRun(run, &b.encoded, run_stored);
    size_t i = 0;
    for (Entry& e : b.entries) {
      if (e.is_meta) continue;
      e.codec = static_cast<uint8_t>(run_stored[i].codec);
      e.stored_offset = run_stored[i].offset;
      e.stored_len = run_stored[i].size;
      ++i;
    }
  }

  // Writer thread: one transaction for the batch (EncodeBatch ran). On failure everything of it
  // is rolled back and the in-memory chain and counters are restored.
  Status WriteBatch(Batch& b) {
    std::unique_lock<std::recursive_mutex> lock = LockDb();
    Hash head = committed_head;
    bool had_frames = has_frames;
    int64_t n = frames, nbytes = bytes;
    SessionMeta meta_before = current_meta;
    Status st = Begin("starting a batch");
    for (size_t i = 0; st.ok() && i < b.entries.size(); ++i) {
      const Entry& e = b.entries[i];
      if (e.is_meta) {
        const SessionMeta& m = b.metas[e.meta_index];
        BindMeta(update_meta, 2, m);
        update_meta.Int(1, session_key);
        st = update_meta.Run("updating the session");
        if (st.ok()) {
          std::string id = current_meta.id, kind = current_meta.kind;
          int64_t started = current_meta.started_at_ns;
          current_meta = m;
          StoredForm(current_meta);
          current_meta.id = std::move(id);
          current_meta.kind = std::move(kind);
          current_meta.started_at_ns = started;
        }
        continue;
      }
      std::string_view stored =
          e.codec == kCodecRaw ? std::string_view(b.arena.data() + e.offset, e.len)
                               : std::string_view(b.encoded.data() + e.stored_offset, e.stored_len);
      const Hash& h = e.hash;
      sqlite3_stmt* s = insert_frame.get();
      sqlite3_bind_int64(s, 1, session_key);
      sqlite3_bind_int64(s, 2, e.seq);
      sqlite3_bind_int64(s, 3, e.t_ns);
      sqlite3_bind_int(s, 4, static_cast<int>(e.direction));
      sqlite3_bind_int(s, 5, e.channel);
      sqlite3_bind_int(s, 6, e.codec);
      // SQLITE_STATIC: the batch outlives the step; no copy into SQLite's own memory.
      sqlite3_bind_blob(s, 7, stored.empty() ? "" : stored.data(), static_cast<int>(stored.size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(s, 8, h.data(), static_cast<int>(h.size()), SQLITE_STATIC);
      int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) {
        st = SqlStatus(rc, db, "writing a frame");
        break;
      }
      head = h;
      has_frames = true;
      ++n;
      if (e.direction == Direction::kFromServer && (e.channel == 1 || e.channel == 2)) {
        nbytes += static_cast<int64_t>(e.len);
      }
    }
    if (st.ok()) {
      update_counters.Int(1, session_key);
      update_counters.Int(2, n);
      update_counters.Int(3, nbytes);
      if (has_frames) {
        update_counters.Blob(4, HashBytes(head));
      } else {
        update_counters.Null(4);
      }
      update_counters.Int(5, gap ? 0 : 1);
      st = update_counters.Run("updating the session counters");
    }
    if (st.ok()) st = Exec("COMMIT", "committing frames");
    if (st.ok()) st = CheckFile();
    if (!st.ok()) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      has_frames = had_frames;
      current_meta = std::move(meta_before);
      return st;
    }
    committed_head = head;
    frames = n;
    bytes = nbytes;
    if (wal_pages >= kCheckpointPages) {
      // PASSIVE never waits for readers; a checkpoint that cannot finish is retried later.
      sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      wal_pages = 0;
    }
    return Status::OK();
  }

  // A store file that was deleted or renamed under us swallows writes silently: report it.
  Status CheckFile() {
    if (shared != nullptr) return Status::OK();
    int moved = 0;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
      return Status::IOError(fmt::format(
          "the store file {} was removed or moved while recording; nothing more is saved",
          db_path));
    }
    return Status::OK();
  }

  // Writer thread, last step: end fields, chain head, seal; then the live lock goes.
  Status WriteEnd(SessionEnd e, const Status& failure, bool open) {
    if (e.ended_at_ns == 0) e.ended_at_ns = NowUnixNs();
    if (gap || !failure.ok()) e.recording_complete = false;
    if (!failure.ok() && !open) {
      e.end_reason = "error";
      if (e.error.empty()) e.error = "recording failed: " + failure.message();
    }
    if (e.end_reason != "completed" && e.end_reason != "error") {
      e.end_reason = e.error.empty() ? "completed" : "error";
    }
    Hash head = has_frames ? committed_head : ChainStart(current_meta.id);
    Hash seal = ComputeSeal(current_meta, e, head, frames);
    std::string signature;
    Status sign_status;
    if (options.sign_seal) {
      Result<std::string> sig = options.sign_seal(seal);
      if (sig.ok()) {
        signature = std::move(*sig);
      } else {
        sign_status = sig.status().WithContext("signing the seal");
      }
    }
    std::unique_lock<std::recursive_mutex> lock = LockDb();
    PODTAPE_RETURN_IF_ERROR(Begin("writing the end of the session"));
    Stmt& s = finish_row;
    s.Int(1, session_key);
    s.Int(2, e.ended_at_ns);
    s.Text(3, e.end_reason);
    s.Text(4, e.error);
    if (e.exit_code) {
      s.Int(5, *e.exit_code);
    } else {
      s.Null(5);
    }
    s.Blob(6, e.raw_status);
    if (e.close_code) {
      s.Int(7, *e.close_code);
    } else {
      s.Null(7);
    }
    s.Text(8, e.close_reason);
    s.Int(9, e.recording_complete ? 1 : 0);
    s.Int(10, frames);
    s.Int(11, bytes);
    if (has_frames) {
      s.Blob(12, HashBytes(committed_head));
    } else {
      s.Null(12);
    }
    s.Blob(13, HashBytes(seal));
    if (signature.empty()) {
      s.Null(14);
    } else {
      s.Blob(14, signature);
    }
    Status st = s.Run("writing the end of the session");
    if (st.ok()) st = Exec("COMMIT", "committing the end of the session");
    if (!st.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    if (st.ok()) st = CheckFile();
    if (st.ok()) st = sign_status;
    if (st.ok() && shared == nullptr) {
      sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    return st;
  }

  void ReleaseLive() {
    if (shared != nullptr) {
      std::lock_guard lock(shared->mu);
      shared->live_ids.erase(meta.id);
    } else {
      live.Release();
    }
  }

  void Run() {
    std::unique_lock lk(mu);
    for (;;) {
      const size_t early = std::max<size_t>(options.queue_bytes / kEarlyBatchDivisor, 1);
      const auto interval = std::chrono::milliseconds(options.commit_interval_ms);
      while (!finish_requested && !stop_requested) {
        if (pending.entries.empty()) {
          writer_idle = true;
          work_cv.wait(lk);
          writer_idle = false;
          continue;
        }
        auto deadline = first_pending + interval;
        if (pending_cost >= early || SteadyClock::now() >= deadline) break;
        writer_idle = true;
        work_cv.wait_until(lk, deadline);
        writer_idle = false;
      }
      std::swap(pending, work);
      size_t batch_cost = pending_cost;
      pending_cost = 0;
      const bool finishing = finish_requested, stopping = stop_requested;
      const bool skip = FailedClosed();  // nothing more is written
      const bool open = fail_open;
      lk.unlock();

      Status st;
      if (!work.entries.empty() && !skip) {
        EncodeBatch(work);
        st = WriteBatch(work);
        if (!st.ok()) gap = true;
      }
      work.Clear();

      lk.lock();
      queued_cost -= batch_cost;
      if (!st.ok()) {
        if (error.ok()) error = st;
        ++failed_writes;
      }
      space_cv.notify_all();
      if (finishing || stopping) {
        Status failure = error;
        SessionEnd e = end;
        lk.unlock();
        Status end_st = finishing ? WriteEnd(std::move(e), failure, open) : Status::OK();
        ReleaseLive();
        lk.lock();
        if (!end_st.ok()) ++failed_writes;
        if (!failure.ok() && !open) {
          finish_status = failure;  // fail closed: the caller learns the recording failed
        } else {
          finish_status = end_st;
        }
        done = true;
        done_cv.notify_all();
        return;
      }
    }
  }
};

SessionWriter::SessionWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SessionWriter::~SessionWriter() {
  if (impl_ == nullptr) return;
  {
    std::lock_guard lk(impl_->mu);
    impl_->stop_requested = true;
    impl_->work_cv.notify_all();
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

namespace {

Result<std::unique_ptr<SessionWriter::Impl>> NewImpl(SessionMeta& meta,
                                                     const SessionWriter::Options& options) {
  if (meta.kind.empty())
    return Status::InvalidArgument("a session needs a kind (exec, attach or import)");
  if (options.queue_bytes == 0 || options.commit_interval_ms <= 0) {
    return Status::InvalidArgument("the writer's queue bound and commit interval must be positive");
  }
  if (meta.started_at_ns == 0) meta.started_at_ns = NowUnixNs();
  StoredForm(meta);
  if (meta.id.empty()) {
    Result<std::string> id = NewUuidV7(meta.started_at_ns);
    if (!id.ok()) return id.status();
    meta.id = std::move(*id);
  }
  auto impl = std::make_unique<SessionWriter::Impl>();
  impl->options = options;
  impl->meta = meta;
  impl->current_meta = meta;
  impl->committed_head = ChainStart(meta.id);
  // Reserve the batch buffers once (Append then copies without allocating in steady state).
  size_t reserve = std::min<size_t>(options.queue_bytes, 64 << 20);
  impl->pending.arena.reserve(reserve);
  impl->work.arena.reserve(reserve);
  return impl;
}

int WalHook(void* arg, sqlite3*, const char*, int pages) {
  static_cast<SessionWriter::Impl*>(arg)->wal_pages = pages;
  return SQLITE_OK;
}

}  // namespace

Result<std::unique_ptr<SessionWriter>> SessionWriter::Start(const std::string& db_path,
                                                            SessionMeta meta, Options options) {
  if (db_path == ":memory:") {
    return Status::InvalidArgument(
        "a session writer cannot open its own :memory: store; pass the open Store instead");
  }
  Result<std::unique_ptr<Impl>> made = NewImpl(meta, options);
  if (!made.ok()) return made.status();
  std::unique_ptr<Impl> impl = std::move(*made);
  Result<Db> db = OpenDatabase(db_path);
  if (!db.ok()) return db.status();
  impl->own_db = std::move(*db);
  impl->db = impl->own_db.get();
  impl->db_path = db_path;
  // Checkpoints run from the writer thread between batches (WriteBatch), not inside commits.
  sqlite3_wal_hook(impl->db, WalHook, impl.get());
  Result<LiveSlot> slot = LiveSlot::Acquire(db_path);
  if (!slot.ok()) return slot.status();
  impl->live = std::move(*slot);
  PODTAPE_RETURN_IF_ERROR(
      impl->InsertSession().WithContext(fmt::format("recording to {}", db_path)));
  PODTAPE_RETURN_IF_ERROR(impl->Prepare());
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<SessionWriter>(new SessionWriter(std::move(impl)));
}

Result<std::unique_ptr<SessionWriter>> SessionWriter::Start(Store& store, SessionMeta meta,
                                                            Options options) {
  if (!store.in_memory()) return Start(store.path(), std::move(meta), options);
  Result<std::unique_ptr<Impl>> made = NewImpl(meta, options);
  if (!made.ok()) return made.status();
  std::unique_ptr<Impl> impl = std::move(*made);
  Store::Impl& shared = *store.impl_;
  impl->shared = &shared;
  impl->db = shared.db.get();
  impl->db_path = shared.path;
  {
    std::lock_guard lock(shared.mu);
    PODTAPE_RETURN_IF_ERROR(impl->InsertSession());
    PODTAPE_RETURN_IF_ERROR(impl->Prepare());
    shared.live_ids.insert(impl->meta.id);
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  return std::unique_ptr<SessionWriter>(new SessionWriter(std::move(impl)));
}

const std::string& SessionWriter::id() const { return impl_->meta.id; }
const SessionMeta& SessionWriter::meta() const { return impl_->meta; }

Status SessionWriter::Append(int64_t t_ns, Direction direction, uint8_t channel,
                             std::string_view payload) {
  Impl& w = *impl_;
  // The producer only copies: hashing and compression happen on the writer thread.
  const size_t cost = payload.size() + kEntryCost;
  std::unique_lock lk(w.mu);
  if (w.finish_called) return Status::InvalidArgument("append after finish");
  auto blocked = [&] {
    return w.queued_cost > 0 && w.queued_cost + cost > w.options.queue_bytes && !w.FailedClosed();
  };
  if (blocked()) {
    // Back-pressure: let the writer start on what is queued, then wait for room.
    if (w.writer_idle) w.work_cv.notify_one();
    w.space_cv.wait(lk, [&] { return !blocked(); });
  }
  if (w.FailedClosed()) return w.error;
  Batch& b = w.pending;
  const bool was_empty = b.entries.empty();
  if (was_empty) w.first_pending = SteadyClock::now();
  b.entries.push_back(
      Entry{w.next_seq, t_ns, b.arena.size(), payload.size(), direction, channel, false, 0});
  b.arena.append(payload);
  w.pending_cost += cost;
  w.queued_cost += cost;
  ++w.next_seq;
  if (w.writer_idle &&
      (was_empty || w.pending_cost >= w.options.queue_bytes / kEarlyBatchDivisor)) {
    w.work_cv.notify_one();
  }
  return Status::OK();
}

int64_t SessionWriter::failed_writes() const {
  std::lock_guard lk(impl_->mu);
  return impl_->failed_writes;
}

void SessionWriter::SetFailOpen() {
  std::lock_guard lk(impl_->mu);
  impl_->fail_open = true;
  impl_->space_cv.notify_all();
}

Status SessionWriter::UpdateMeta(const SessionMeta& meta) {
  Impl& w = *impl_;
  std::lock_guard lk(w.mu);
  if (w.finish_called) return Status::InvalidArgument("metadata update after finish");
  if (w.FailedClosed()) return w.error;
  Batch& b = w.pending;
  if (b.entries.empty()) w.first_pending = SteadyClock::now();
  b.metas.push_back(meta);
  b.entries.push_back(
      Entry{-1, 0, 0, 0, Direction::kToServer, 0, true, static_cast<uint32_t>(b.metas.size() - 1)});
  w.pending_cost += kEntryCost;
  w.queued_cost += kEntryCost;
  if (w.writer_idle) w.work_cv.notify_one();
  return Status::OK();
}

Status SessionWriter::Finish(const SessionEnd& end) {
  Impl& w = *impl_;
  {
    std::unique_lock lk(w.mu);
    if (w.finish_called) return Status::InvalidArgument("the session was already finished");
    w.finish_called = true;
    w.end = end;
    w.finish_requested = true;
    w.work_cv.notify_all();
    w.done_cv.wait(lk, [&] { return w.done; });
  }
  if (w.thread.joinable()) w.thread.join();
  return w.finish_status;
}

}  // namespace podtape::store
