// The store's read side, the shared SQLite plumbing, ids, the hash chain and the seal.
#include "schema/store.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <utility>

#include "schema/frame_decoder.h"
#include "schema/payload_codec.h"
#include "schema/store_internal.h"

namespace podtape::store {

// ---- SQLite plumbing -------------------------------------------------------------------------

Status SqlStatus(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::OK();
  // sqlite3_errmsg describes the most recent failure on `db`; fall back to the code's text.
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (msg == nullptr || std::strcmp(msg, "not an error") == 0) msg = sqlite3_errstr(rc);
  std::string text = fmt::format("{}: {}", what, msg);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(std::move(text));
    default:
      return Status::IOError(std::move(text));
  }
}

Status Db::Exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return SqlStatus(rc, db_, what);
}

Status Stmt::Prepare(sqlite3* db, std::string_view sql) {
  db_ = db;
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  return SqlStatus(rc, db, "preparing a store query");
}

Result<bool> Stmt::Step(std::string_view what) {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status st = SqlStatus(rc, db_, what);
  sqlite3_reset(stmt_);
  return st;
}

Status Stmt::Run(std::string_view what) {
  int rc = sqlite3_step(stmt_);
  Status st = rc == SQLITE_DONE || rc == SQLITE_ROW ? Status::OK() : SqlStatus(rc, db_, what);
  Reset();
  return st;
}

std::string_view Stmt::ColText(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(p), n);
}

std::string_view Stmt::ColBlob(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), n);
}

namespace {

// Creates `dir` and missing parents with mode 0700.
Status MakeDirs(const std::string& dir) {
  if (dir.empty()) return Status::OK();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::OK();
    return Status::IOError(fmt::format("creating the store: {} is not a directory", dir));
  }
  if (size_t slash = dir.rfind('/'); slash != std::string::npos && slash > 0) {
    PODTAPE_RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash)));
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError(fmt::format("creating directory {}: {}", dir, std::strerror(errno)));
  }
  return Status::OK();
}

struct Step {
  int version;
  std::string_view sql;
};

// Splits a schema's SQL at its "-- version N" lines.
std::vector<Step> MigrationSteps(std::string_view all) {
  constexpr std::string_view kMarker = "\n-- version ";
  std::vector<Step> steps;
  size_t pos = all.find(kMarker);
  while (pos != std::string_view::npos) {
    size_t num = pos + kMarker.size();
    size_t eol = all.find('\n', num);
    if (eol == std::string_view::npos) break;
    int version = std::atoi(std::string(all.substr(num, eol - num)).c_str());
    size_t next = all.find(kMarker, eol);
    steps.push_back(
        {version,
         all.substr(eol + 1, (next == std::string_view::npos ? all.size() : next) - (eol + 1))});
    pos = next;
  }
  return steps;
}

Result<int64_t> UserVersion(Db& db) {
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(s.Prepare(db.get(), "PRAGMA user_version"));
  Result<bool> row = s.Step("reading the schema version");
  if (!row.ok()) return row.status();
  return *row ? s.ColInt(0) : 0;
}

Status Migrate(Db& db, const SchemaSpec& schema) {
  Result<int64_t> v = UserVersion(db);
  if (!v.ok()) return v.status();
  if (*v == schema.version) return Status::OK();  // the common case: no write lock needed
  // Take the write lock, then look again: another process may be migrating the same file.
  PODTAPE_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "locking the store to set up its schema"));
  v = UserVersion(db);
  Status st = v.status();
  if (st.ok() && *v > schema.version) {
    st = Status::Unsupported(fmt::format(
        "database schema version {} is newer than this podtape supports ({}); upgrade podtape", *v,
        schema.version));
  }
  if (st.ok()) {
    for (const Step& step : MigrationSteps(schema.sql)) {
      if (step.version <= *v) continue;
      std::string sql(step.sql);
      sql += fmt::format("\nPRAGMA user_version = {};", step.version);
      st = db.Exec(sql.c_str(),
                   fmt::format("migrating the store to schema version {}", step.version));
      if (!st.ok()) break;
    }
  }
  if (!st.ok()) {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  return db.Exec("COMMIT", "committing the schema");
}

}  // namespace

SchemaSpec StoreSchema() { return {kSchemaSql, kSchemaVersion}; }
SchemaSpec IndexSchema() { return {kIndexSchemaSql, kIndexSchemaVersion}; }

Result<Db> OpenDatabase(const std::string& path, const SchemaSpec& schema) {
  bool memory = path == ":memory:";
  if (path.empty()) return Status::InvalidArgument("no store path given: set --db or PODTAPE_DB");
  if (!memory) {
    size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      PODTAPE_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
    }
    // Create the file ourselves so it is 0600 from the first byte; SQLite gives the -wal and
    // -shm files the database file's mode. Never open and close an existing store: close() drops
    // every POSIX lock this process holds on the file, including those of a SQLite connection
    // already open here, and another process may then delete the WAL under it (corruption).
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
    } else if (errno != EEXIST || access(path.c_str(), R_OK | W_OK) != 0) {
      return Status::IOError(fmt::format("opening the store {}: {}", path, std::strerror(errno)));
    }
  }
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return SqlStatus(rc, raw, fmt::format("opening the store {}", path));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  auto with_path = [&](Status st) { return st.WithContext(fmt::format("opening {}", path)); };
  if (!memory) {
    // WAL lets readers run beside the writers; NORMAL syncs at checkpoints, not every commit
    // (a process crash loses nothing committed; a power loss at most the last commits).
    Stmt wal;
    Status st = wal.Prepare(raw, "PRAGMA journal_mode=WAL");
    if (!st.ok()) return with_path(st);
    Result<bool> row = wal.Step("setting WAL mode");
    if (!row.ok()) return with_path(row.status());
    if (!*row || wal.ColText(0) != "wal") {
      return Status::IOError(fmt::format("opening {}: cannot switch the store to WAL mode", path));
    }
  }
  Status st = db.Exec("PRAGMA synchronous=NORMAL", "setting synchronous mode");
  if (st.ok()) st = Migrate(db, schema);
  if (!st.ok()) return with_path(st);
  return db;
}

// ---- Rows --------------------------------------------------------------------------------------

const char kSessionColumns[] =
    "id, kind, started_at_ns, ended_at_ns, end_reason, error, exit_code, raw_status, "
    "close_code, close_reason, server, cluster, context, namespace, pod, container, command, "
    "tty, stdin, protocol, term_cols, term_rows, term_type, title, user, groups, user_source, "
    "kube_user, as_user, as_groups, local_user, host, recorder_version, recording_complete, "
    "frames, bytes, chain_head, seal, signature, live_slot";

namespace {
// `what` names the column for the error; it is called only on failure, so reading a frame
// formats no string.
template <typename What>
Result<Hash> HashFrom(std::string_view blob, const What& what) {
  Hash h;
  if (blob.size() != h.size()) {
    return Status::Corruption(fmt::format("{} is {} bytes, not 32", what(), blob.size()));
  }
  std::memcpy(h.data(), blob.data(), h.size());
  return h;
}
}  // namespace

Result<SessionRow> SessionRowFrom(const Stmt& s) {
  SessionRow r;
  SessionMeta& m = r.meta;
  SessionEnd& e = r.end;
  m.id = s.ColText(0);
  m.kind = s.ColText(1);
  m.started_at_ns = s.ColInt(2);
  r.ended = !s.ColNull(3);
  e.ended_at_ns = s.ColInt(3);
  e.end_reason = s.ColText(4);
  e.error = s.ColText(5);
  if (!s.ColNull(6)) e.exit_code = static_cast<int>(s.ColInt(6));
  e.raw_status = s.ColBlob(7);
  if (!s.ColNull(8)) e.close_code = static_cast<int>(s.ColInt(8));
  e.close_reason = s.ColText(9);
  m.server = s.ColText(10);
  m.cluster = s.ColText(11);
  m.context = s.ColText(12);
  m.namespace_ = s.ColText(13);
  m.pod = s.ColText(14);
  m.container = s.ColText(15);
  auto list = [&](int col, std::vector<std::string>& out) -> Status {
    Result<std::vector<std::string>> v = FromJsonArray(s.ColText(col));
    if (!v.ok()) return v.status().WithContext(fmt::format("session {}", m.id));
    out = std::move(*v);
    return Status::OK();
  };
  PODTAPE_RETURN_IF_ERROR(list(16, m.command));
  m.tty = s.ColInt(17) != 0;
  m.stdin_ = s.ColInt(18) != 0;
  m.protocol = s.ColText(19);
  m.term_cols = static_cast<int>(s.ColInt(20));
  m.term_rows = static_cast<int>(s.ColInt(21));
  m.term_type = s.ColText(22);
  m.title = s.ColText(23);
  m.user = s.ColText(24);
  PODTAPE_RETURN_IF_ERROR(list(25, m.groups));
  m.user_source = s.ColText(26);
  m.kube_user = s.ColText(27);
  m.as_user = s.ColText(28);
  PODTAPE_RETURN_IF_ERROR(list(29, m.as_groups));
  m.local_user = s.ColText(30);
  m.host = s.ColText(31);
  m.recorder_version = s.ColText(32);
  e.recording_complete = s.ColInt(33) != 0;
  r.frames = s.ColInt(34);
  r.bytes = s.ColInt(35);
  if (!s.ColNull(36)) {
    Result<Hash> h =
        HashFrom(s.ColBlob(36), [&] { return fmt::format("chain_head of session {}", m.id); });
    if (!h.ok()) return h.status();
    r.chain_head = *h;
  }
  if (!s.ColNull(37)) {
    Result<Hash> h =
        HashFrom(s.ColBlob(37), [&] { return fmt::format("seal of session {}", m.id); });
    if (!h.ok()) return h.status();
    r.seal = *h;
  }
  r.signature = s.ColBlob(38);
  if (r.ended) r.end_reason = e.end_reason;
  return r;
}

std::string ToJsonArray(const std::vector<std::string>& v) {
  boost::json::array a;
  a.reserve(v.size());
  for (const std::string& s : v) a.emplace_back(boost::json::string_view(s.data(), s.size()));
  return boost::json::serialize(a);
}

Result<std::vector<std::string>> FromJsonArray(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  // argv may hold bytes that are not UTF-8 (the store keeps them as given).
  boost::json::parse_options options;
  options.allow_invalid_utf8 = true;
  boost::json::value v =
      boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec || !v.is_array()) return Status::Corruption("a stored list is not a JSON array");
  for (const boost::json::value& e : v.get_array()) {
    if (!e.is_string()) return Status::Corruption("a stored list holds a non-string");
    out.emplace_back(e.get_string().data(), e.get_string().size());
  }
  return out;
}

// ---- The live lock
// -------------------------------------------------------------------------------

std::string SidecarPath(const std::string& db_path, std::string_view suffix) {
  char* real = realpath(db_path.c_str(), nullptr);
  std::string base = real != nullptr ? std::string(real) : db_path;
  free(real);
  base += suffix;
  return base;
}

std::string LivePath(const std::string& db_path) { return SidecarPath(db_path, ".live"); }

std::string IndexPath(const std::string& db_path) { return SidecarPath(db_path, ".index"); }

LiveSlot::~LiveSlot() { Release(); }

LiveSlot& LiveSlot::operator=(LiveSlot&& o) noexcept {
  std::swap(fd_, o.fd_);
  std::swap(slot_, o.slot_);
  return *this;
}

void LiveSlot::Release() {
  if (fd_ >= 0) close(fd_);  // closing the open file description drops its OFD locks
  fd_ = -1;
}

Result<LiveSlot> LiveSlot::Acquire(const std::string& db_path) {
  std::string live = LivePath(db_path);
  LiveSlot s;
  s.fd_ = open(live.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s.fd_ < 0) {
    return Status::IOError(
        fmt::format("opening the live-lock file {}: {}", live, std::strerror(errno)));
  }
  constexpr int64_t kMaxSlots = 1 << 20;
  for (int64_t k = 0; k < kMaxSlots; ++k) {
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = k;
    fl.l_len = 1;
    if (fcntl(s.fd_, F_OFD_SETLK, &fl) == 0) {
      s.slot_ = k;
      return s;
    }
    if (errno != EAGAIN && errno != EACCES) {
      return Status::IOError(fmt::format("locking {}: {}", live, std::strerror(errno)));
    }
  }
  return Status::IOError(fmt::format("locking {}: no free slot", live));
}

LiveProbe::~LiveProbe() {
  if (fd_ >= 0) close(fd_);
}

bool LiveProbe::IsHeld(int64_t slot) { return Probe(slot, 1); }

bool LiveProbe::AnyHeld() { return Probe(0, 0); }  // l_len 0: to the end of the file and beyond

bool LiveProbe::Probe(int64_t start, int64_t len) {
  if (!tried_) {
    tried_ = true;
    std::string live = LivePath(db_path_);
    fd_ = open(live.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd_ < 0) return false;  // no writer has ever run here
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  if (fcntl(fd_, F_OFD_GETLK, &fl) != 0) return false;
  return fl.l_type != F_UNLCK;
}

// ---- Ids
// -------------------------------------------------------------------------------------------

Result<std::string> NewUuidV7(int64_t unix_ns) {
  uint8_t b[16];
  if (RAND_bytes(b + 8, 8) != 1) return Status::IOError("generating a session id: no randomness");
  uint64_t ms = static_cast<uint64_t>(unix_ns / 1000000);
  // RFC 9562 method 3: 12 bits of sub-millisecond fraction in rand_a keep ids in time order.
  uint32_t frac = static_cast<uint32_t>((unix_ns % 1000000) * 4096 / 1000000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (frac >> 8));
  b[7] = static_cast<uint8_t>(frac & 0xff);
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

std::string_view IdTail(std::string_view id) { return id.size() == 36 ? id.substr(24) : id; }

// ---- Hashes
// ------------------------------------------------------------------------------------------

namespace {

// One digest context per thread, reused: no allocation per frame.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {}
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Init() { EVP_DigestInit_ex2(ctx_, md_, nullptr); }
  void Update(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  Hash Final() {
    Hash h;
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, h.data(), &n);
    return h;
  }

 private:
  EVP_MD_CTX* ctx_;
  EVP_MD* md_;
};

Sha256& ThreadSha() {
  thread_local Sha256 sha;
  return sha;
}

void PutBE64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

// The seal's field encoding (schema/README.md): u32 big-endian length, then the bytes.
class SealWriter {
 public:
  void Bytes(std::string_view b) {
    uint32_t n = static_cast<uint32_t>(b.size());
    uint8_t len[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                      static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    out_.append(reinterpret_cast<const char*>(len), 4);
    out_.append(b);
  }
  void Int(int64_t v) {
    uint8_t b[8];
    PutBE64(b, static_cast<uint64_t>(v));
    Bytes(std::string_view(reinterpret_cast<const char*>(b), 8));
  }
  void OptInt(const std::optional<int>& v) {
    if (v) {
      Int(*v);
    } else {
      Bytes({});
    }
  }
  void Bool(bool v) { Bytes(v ? std::string_view("\x01", 1) : std::string_view("\x00", 1)); }
  void List(const std::vector<std::string>& v) {
    Int(static_cast<int64_t>(v.size()));
    for (const std::string& s : v) Bytes(s);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

}  // namespace

Hash ChainStart(std::string_view session_id) {
  Sha256& sha = ThreadSha();
  sha.Init();
  sha.Update(session_id.data(), session_id.size());
  return sha.Final();
}

Hash ChainNext(const Hash& prev, int64_t seq, int64_t t_ns, Direction direction, uint8_t channel,
               std::string_view payload) {
  uint8_t head[32 + 8 + 8 + 1 + 1 + 8];
  std::memcpy(head, prev.data(), 32);
  PutBE64(head + 32, static_cast<uint64_t>(seq));
  PutBE64(head + 40, static_cast<uint64_t>(t_ns));
  head[48] = static_cast<uint8_t>(direction);
  head[49] = channel;
  PutBE64(head + 50, payload.size());
  Sha256& sha = ThreadSha();
  sha.Init();
  sha.Update(head, sizeof(head));
  sha.Update(payload.data(), payload.size());
  return sha.Final();
}

std::string SealInput(const SessionMeta& m, const SessionEnd& e, const Hash& chain_head,
                      int64_t frames) {
  SealWriter w;
  w.Bytes("podtape-seal-v1");
  w.Bytes(std::string_view(reinterpret_cast<const char*>(chain_head.data()), chain_head.size()));
  w.Int(frames);
  w.Bytes(m.id);
  w.Bytes(m.kind);
  w.Int(m.started_at_ns);
  w.Int(e.ended_at_ns);
  w.Bytes(e.end_reason);
  w.Bytes(e.error);
  w.OptInt(e.exit_code);
  w.Bytes(e.raw_status);
  w.OptInt(e.close_code);
  w.Bytes(e.close_reason);
  w.Bytes(m.server);
  w.Bytes(m.cluster);
  w.Bytes(m.context);
  w.Bytes(m.namespace_);
  w.Bytes(m.pod);
  w.Bytes(m.container);
  w.List(m.command);
  w.Bool(m.tty);
  w.Bool(m.stdin_);
  w.Bytes(m.protocol);
  w.Int(m.term_cols);
  w.Int(m.term_rows);
  w.Bytes(m.term_type);
  w.Bytes(m.title);
  w.Bytes(m.user);
  w.List(m.groups);
  w.Bytes(m.user_source);
  w.Bytes(m.kube_user);
  w.Bytes(m.as_user);
  w.List(m.as_groups);
  w.Bytes(m.local_user);
  w.Bytes(m.host);
  w.Bytes(m.recorder_version);
  w.Bool(e.recording_complete);
  return std::move(w.out());
}

Hash ComputeSeal(const SessionMeta& meta, const SessionEnd& end, const Hash& chain_head,
                 int64_t frames) {
  std::string input = SealInput(meta, end, chain_head, frames);
  Sha256& sha = ThreadSha();
  sha.Init();
  sha.Update(input.data(), input.size());
  return sha.Final();
}

std::string HashHex(const Hash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (uint8_t b : hash) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

// ---- Store
// -----------------------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const { return impl_->path; }
bool Store::in_memory() const { return impl_->in_memory; }

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  Result<Db> db = OpenDatabase(path);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->in_memory = path == ":memory:";
  impl->db = std::move(*db);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

namespace {

size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Fills short_id and the derived end_reason of rows read from `impl`'s database.
class RowFinisher {
 public:
  explicit RowFinisher(Store::Impl& impl) : impl_(impl), probe_(impl.path) {}

  Status Prepare() {
    PODTAPE_RETURN_IF_ERROR(
        prev_.Prepare(impl_.db.get(),
                      "SELECT substr(id, 25) FROM sessions WHERE substr(id, 25) < ?1 "
                      "ORDER BY substr(id, 25) DESC LIMIT 1"));
    return next_.Prepare(impl_.db.get(),
                         "SELECT substr(id, 25) FROM sessions WHERE substr(id, 25) > ?1 "
                         "ORDER BY substr(id, 25) LIMIT 1");
  }

  // `live_slot` is the row's live_slot column (-1 for NULL).
  Status Finish(SessionRow& r, int64_t live_slot) {
    std::string_view tail = IdTail(r.meta.id);
    size_t need = 8;
    for (Stmt* s : {&prev_, &next_}) {
      s->Text(1, tail);
      Result<bool> row = s->Step("computing a short id");
      if (!row.ok()) return row.status();
      if (*row) need = std::max(need, CommonPrefix(tail, s->ColText(0)) + 1);
      s->Reset();
    }
    r.short_id = need <= tail.size() ? std::string(tail.substr(0, need)) : r.meta.id;
    if (!r.ended) {
      bool live = impl_.in_memory ? impl_.live_ids.contains(r.meta.id)
                                  : live_slot >= 0 && probe_.IsHeld(live_slot);
      r.end_reason = live ? "running" : "interrupted";
    }
    return Status::OK();
  }

 private:
  Store::Impl& impl_;
  LiveProbe probe_;
  Stmt prev_;
  Stmt next_;
};

constexpr int kLiveSlotColumn = 39;

}  // namespace

Result<std::vector<SessionRow>> Store::List(const SessionFilter& f) {
  std::lock_guard lock(impl_->mu);
  std::string sql = fmt::format("SELECT {} FROM sessions WHERE 1", kSessionColumns);
  if (!f.namespace_.empty()) sql += " AND namespace = ?1";
  if (!f.pod.empty()) sql += " AND pod = ?2";
  if (!f.container.empty()) sql += " AND container = ?3";
  if (!f.user.empty()) {
    sql += " AND (user = ?4 OR kube_user = ?4 OR as_user = ?4 OR local_user = ?4)";
  }
  if (f.since_ns) sql += " AND started_at_ns >= ?5";
  if (f.until_ns) sql += " AND started_at_ns <= ?6";
  sql += " ORDER BY started_at_ns DESC, session_key DESC";
  if (f.limit > 0) sql += " LIMIT ?7";
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(s.Prepare(impl_->db.get(), sql));
  s.Text(1, f.namespace_);
  s.Text(2, f.pod);
  s.Text(3, f.container);
  s.Text(4, f.user);
  s.Int(5, f.since_ns.value_or(0));
  s.Int(6, f.until_ns.value_or(0));
  s.Int(7, f.limit);
  RowFinisher finisher(*impl_);
  PODTAPE_RETURN_IF_ERROR(finisher.Prepare());
  std::vector<SessionRow> rows;
  for (;;) {
    Result<bool> more = s.Step("listing sessions");
    if (!more.ok()) return more.status();
    if (!*more) break;
    Result<SessionRow> r = SessionRowFrom(s);
    if (!r.ok()) return r.status();
    PODTAPE_RETURN_IF_ERROR(
        finisher.Finish(*r, s.ColNull(kLiveSlotColumn) ? -1 : s.ColInt(kLiveSlotColumn)));
    rows.push_back(std::move(*r));
  }
  return rows;
}

Result<SessionRow> Store::Find(std::string_view ref) {
  std::lock_guard lock(impl_->mu);
  std::string lower(ref);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string sql = fmt::format("SELECT {} FROM sessions ", kSessionColumns);
  bool is_short = false;
  if (lower == "last") {
    sql += "ORDER BY started_at_ns DESC, session_key DESC LIMIT 1";
  } else if (lower.size() == 36) {
    sql += "WHERE id = ?1";
  } else {
    bool hex = lower.size() >= 4 && lower.size() <= 12 &&
               lower.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex) {
      return Status::InvalidArgument(fmt::format(
          "'{}' is not a session: give a full id, a short id as ls shows it, or last", ref));
    }
    is_short = true;
    sql += "WHERE substr(id, 25) >= ?1 AND substr(id, 25) < ?2 LIMIT 2";
  }
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(s.Prepare(impl_->db.get(), sql));
  std::string upper = lower + "g";  // 'g' sorts after every hex digit
  s.Text(1, lower);
  s.Text(2, upper);
  Result<bool> row = s.Step("finding a session");
  if (!row.ok()) return row.status();
  if (!*row) {
    return Status::NotFound(lower == "last" ? std::string("the store holds no session yet")
                                            : fmt::format("no session {}: see podtape ls", ref));
  }
  Result<SessionRow> r = SessionRowFrom(s);
  if (!r.ok()) return r.status();
  int64_t slot = s.ColNull(kLiveSlotColumn) ? -1 : s.ColInt(kLiveSlotColumn);
  if (is_short) {
    Result<bool> second = s.Step("finding a session");
    if (!second.ok()) return second.status();
    if (*second) {
      return Status::InvalidArgument(
          fmt::format("short id {} matches several sessions: give more of it", ref));
    }
  }
  RowFinisher finisher(*impl_);
  PODTAPE_RETURN_IF_ERROR(finisher.Prepare());
  PODTAPE_RETURN_IF_ERROR(finisher.Finish(*r, slot));
  return r;
}

Status Store::ReadFrames(std::string_view session_id,
                         const std::function<Status(const FrameView&)>& fn) {
  std::lock_guard lock(impl_->mu);
  Stmt key;
  PODTAPE_RETURN_IF_ERROR(
      key.Prepare(impl_->db.get(), "SELECT session_key FROM sessions WHERE id = ?1"));
  key.Text(1, session_id);
  Result<bool> found = key.Step("finding a session");
  if (!found.ok()) return found.status();
  if (!*found) return Status::NotFound(fmt::format("no session {}: see podtape ls", session_id));
  int64_t session_key = key.ColInt(0);
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(
      s.Prepare(impl_->db.get(),
                "SELECT seq, t_ns, direction, channel, codec, payload, hash FROM frames "
                "WHERE session_key = ?1 ORDER BY seq"));
  s.Int(1, session_key);
  OrderedFrameDecoder decoder(fn, session_id);
  for (;;) {
    Result<bool> row = s.Step("reading frames");
    if (!row.ok()) return row.status();
    if (!*row) return decoder.Finish();
    FrameView f;
    f.seq = s.ColInt(0);
    f.t_ns = s.ColInt(1);
    int64_t dir = s.ColInt(2);
    int64_t channel = s.ColInt(3);
    Status bad;
    if (dir != 0 && dir != 1) {
      bad = Status::Corruption(
          fmt::format("frame {} of session {} has direction {}", f.seq, session_id, dir));
    } else if (channel < 0 || channel > 255) {
      bad = Status::Corruption(
          fmt::format("frame {} of session {} has channel {}", f.seq, session_id, channel));
    } else {
      Result<Hash> h =
          HashFrom(s.ColBlob(6), [&] { return fmt::format("hash of frame {}", f.seq); });
      if (h.ok()) {
        f.hash = *h;
      } else {
        bad = h.status();
      }
    }
    if (!bad.ok()) {
      PODTAPE_RETURN_IF_ERROR(decoder.Finish());  // the frames before it first, as they were
      return bad;
    }
    f.direction = static_cast<Direction>(dir);
    f.channel = static_cast<uint8_t>(channel);
    PODTAPE_RETURN_IF_ERROR(decoder.Add(f, s.ColInt(4), s.ColBlob(5)));
  }
}

Status Store::SetSignature(std::string_view session_id, std::string_view signature) {
  std::lock_guard lock(impl_->mu);
  Stmt s;
  PODTAPE_RETURN_IF_ERROR(s.Prepare(
      impl_->db.get(), "UPDATE sessions SET signature = ?2 WHERE id = ?1 AND seal IS NOT NULL"));
  s.Text(1, session_id);
  s.Blob(2, signature);
  PODTAPE_RETURN_IF_ERROR(s.Run("storing a signature"));
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return Status::NotFound(
        fmt::format("no sealed session {}: only an ended session can be signed", session_id));
  }
  return Status::OK();
}

}  // namespace podtape::store
