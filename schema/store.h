// The podtape store: recorded sessions and their frames in one SQLite file (schema/README.md
// documents every table and column, the hash chain and the seal byte for byte).
//
// Two classes, both safe to use from the thread that owns them:
// - Store: a read connection (and the few small updates later issues need). One Store may be used
//   by one thread at a time; its methods serialise on an internal mutex, so a SessionWriter that
//   shares an in-memory Store (see SessionWriter::Start(Store&, ...)) is safe.
// - SessionWriter: records one session. Append() is called by one producer thread (the network
//   side) and only copies; a private thread with its own SQLite connection hashes the chain,
//   compresses payloads (frames.codec, schema/README.md "Payload codecs") and commits in batches.
//
// Times: started_at_ns / ended_at_ns are wall-clock Unix UTC nanoseconds; a frame's t_ns is
// nanoseconds since the session start on a monotonic clock (the caller's clock; the store never
// reads it). Several processes may write to one file at once (WAL, busy_timeout).
#ifndef PODTAPE_SCHEMA_STORE_H_
#define PODTAPE_SCHEMA_STORE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schema/status.h"

namespace podtape::store {

// The schema version this build writes (PRAGMA user_version). Older files are migrated on open;
// newer ones are refused with Status::Unsupported.
inline constexpr int kSchemaVersion = 3;

enum class Direction : uint8_t {
  kToServer = 0,    // sent by the client: stdin, resize, close
  kFromServer = 1,  // stdout, stderr, status, ready
};

// Everything known about a session when it starts (and, through UpdateMeta, learned soon after).
// Strings are empty when unknown; vectors empty.
struct SessionMeta {
  std::string id;             // UUIDv7 text (36 chars); assigned by the writer when empty
  std::string kind;           // "exec" | "attach" | "import"
  int64_t started_at_ns = 0;  // Unix UTC ns; the writer uses the current time when 0
  std::string server;         // cluster URL (no credentials)
  std::string cluster;        // kubeconfig cluster name
  std::string context;        // kubeconfig context name
  std::string namespace_;
  std::string pod;
  std::string container;
  std::vector<std::string> command;  // argv of exec; empty for attach
  bool tty = false;
  bool stdin_ = false;   // stdin attached (-i); "stdin" itself is a libc macro
  std::string protocol;  // negotiated subprotocol, e.g. "v5.channel.k8s.io"
  int term_cols = 0;     // initial terminal size; 0 when unknown or not a tty
  int term_rows = 0;
  std::string term_type;  // $TERM
  std::string title;
  std::string user;  // the identity: confirmed by the API server when user_source says so
  std::vector<std::string> groups;
  std::string user_source;  // "selfsubjectreview"|"certificate"|"token"|"kubeconfig"|"none"
  std::string kube_user;    // the kubeconfig user entry's name
  std::string as_user;      // --as
  std::vector<std::string> as_groups;  // --as-group
  std::string local_user;              // OS user running the recorder
  std::string host;                    // host running the recorder
  std::string recorder_version;
};

// How a session ended. Written once, by SessionWriter::Finish.
struct SessionEnd {
  int64_t ended_at_ns = 0;  // Unix UTC ns; Finish uses the current time when 0
  // "completed" | "error". ("running" and "interrupted" are derived by readers, never written.)
  std::string end_reason = "completed";
  std::string error;              // why it failed; empty when none
  std::optional<int> exit_code;   // the remote command's exit code, when known
  std::string raw_status;         // channel-3 bytes as received (status JSON or text)
  std::optional<int> close_code;  // WebSocket close code, when a close frame arrived
  std::string close_reason;
  bool recording_complete = true;  // false after a fail-open gap (the writer also clears it)
};

// A 32-byte SHA-256 digest.
using Hash = std::array<uint8_t, 32>;

// One session as stored, for ls, play, export and verify.
struct SessionRow {
  SessionMeta meta;
  SessionEnd end;        // as stored; end.ended_at_ns == 0 and end.end_reason empty until ended
  bool ended = false;    // Finish wrote the end fields
  std::string short_id;  // shortest unique prefix (>= 8 hex) of the id's random tail
  // Derived: "completed" | "error" once ended; else "running" while a live writer holds the
  // session's lock, "interrupted" when none does (crash, kill, power loss).
  std::string end_reason;
  int64_t frames = 0;  // frames committed (all channels and directions)
  int64_t bytes = 0;   // stdout + stderr payload bytes committed (from server, channels 1 and 2)
  std::optional<Hash> chain_head;  // hash of the last committed frame; nullopt when no frame
  std::optional<Hash> seal;        // written by Finish; nullopt when not sealed
  std::string signature;           // Ed25519 signature of the seal; empty when unsigned
};

// One stored frame, as handed to a ReadFrames callback.
struct FrameView {
  int64_t seq;   // 0, 1, 2 ... in arrival order within the session
  int64_t t_ns;  // since session start, monotonic
  Direction direction;
  uint8_t channel;  // 0-4, 255 (the v5 close signal)
  std::string_view
      payload;  // logical (decoded, decompressed) bytes; valid only during the callback
  Hash hash;    // the stored chain hash of this frame (not recomputed)
};

// Filters for Store::List; empty strings and nullopt mean "any". All given filters must match.
struct SessionFilter {
  std::string namespace_;
  std::string pod;
  std::string container;
  std::string user;  // matches `user`, `kube_user`, `as_user` or `local_user` exactly
  std::optional<int64_t> since_ns;  // started_at_ns >= since_ns
  std::optional<int64_t> until_ns;  // started_at_ns <= until_ns
  int limit = 0;                    // 0 = no limit
};

class Store {
 public:
  // Opens (creating when missing) the store at `path`, or a private in-memory store for
  // ":memory:". A created file is mode 0600 (as are its -wal, -shm and .live sidecars) and a
  // created parent directory 0700. Sets WAL and busy_timeout; migrates an older schema; refuses
  // a newer one: "database schema version N is newer than this podtape supports (M); upgrade
  // podtape".
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;  // as given to Open
  bool in_memory() const;

  // Sessions matching `filter`, newest first (started_at_ns, then insertion order).
  Result<std::vector<SessionRow>> List(const SessionFilter& filter);
  // A session by full id, by short id (a unique prefix of at least 4 hex chars of the random
  // tail, as ls shows), or "last" (the most recently started session, running or not).
  // NotFound when nothing matches; InvalidArgument when a short id matches several.
  Result<SessionRow> Find(std::string_view ref);
  // Calls `fn` for each frame of the session (full id) in seq order, one row at a time (constant
  // memory). Stops at, and returns, the first non-OK status `fn` returns. `fn` must not call
  // this Store. Corruption when a stored row cannot be decoded.
  Status ReadFrames(std::string_view session_id, const std::function<Status(const FrameView&)>& fn);
  // Stores the Ed25519 signature of a sealed session's seal (for a later issue's --sign-key).
  Status SetSignature(std::string_view session_id, std::string_view signature);

  struct Impl;  // schema/store.cc
 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class SessionWriter;
};

// Records one session. Lifetime: Start -> Append/UpdateMeta ... -> Finish. Destroying a writer
// without Finish commits what is queued and leaves the session unended (it reads "interrupted").
class SessionWriter {
 public:
  struct Options {
    size_t queue_bytes = 4 << 20;      // bound on queued payload bytes; Append blocks beyond it
    int64_t commit_interval_ms = 100;  // a frame is committed at most this long after Append
    // When set, Finish stores sign_seal(seal) in `signature` with the seal, in one transaction
    // (--sign-key; schema/signing.h). Called once, on the writer thread; an error fails Finish
    // and the session is left ended but unsigned.
    std::function<Result<std::string>(const Hash& seal)> sign_seal;
  };

  // Opens its own connection to the file at `db_path` (not ":memory:": use the Store overload),
  // creating/migrating it as Store::Open does, inserts the session row, takes the live lock and
  // starts the writer thread. meta.id and meta.started_at_ns are filled in when empty.
  static Result<std::unique_ptr<SessionWriter>> Start(const std::string& db_path, SessionMeta meta,
                                                      Options options);
  static Result<std::unique_ptr<SessionWriter>> Start(const std::string& db_path,
                                                      SessionMeta meta) {
    return Start(db_path, std::move(meta), Options());
  }
  // The same, for a store already open: a file store gets a second connection; an in-memory
  // store is shared (its mutex serialises the two). `store` must outlive the writer.
  static Result<std::unique_ptr<SessionWriter>> Start(Store& store, SessionMeta meta,
                                                      Options options);
  static Result<std::unique_ptr<SessionWriter>> Start(Store& store, SessionMeta meta) {
    return Start(store, std::move(meta), Options());
  }
  ~SessionWriter();
  SessionWriter(const SessionWriter&) = delete;
  SessionWriter& operator=(const SessionWriter&) = delete;

  const std::string& id() const;
  const SessionMeta& meta() const;  // as inserted (id and start filled in); not updated later

  // Queues one frame (seq is assigned in call order). Producer thread only. Copies `payload`
  // once into a reused buffer; BLOCKS while the queue holds more than Options::queue_bytes
  // (a single frame larger than the bound is accepted into an empty queue). Returns the writer's
  // error once a write failed (disk full, I/O error, file removed), unless SetFailOpen() was
  // called: then frames keep being accepted, batches that fail are dropped and the session is
  // marked recording_complete = false.
  Status Append(int64_t t_ns, Direction direction, uint8_t channel, std::string_view payload);
  // After this, write failures no longer fail Append/Finish (see Append). Producer thread.
  void SetFailOpen();
  // How many writes to the store failed so far (batches of frames, and the end of the session),
  // fail open or not: the count a fail-open caller cannot learn from Append or Finish. Any thread.
  int64_t failed_writes() const;
  // Replaces the session's metadata (id, kind and started_at_ns are kept) in order with the
  // frames queued so far. Producer thread.
  Status UpdateMeta(const SessionMeta& meta);
  // Commits everything queued, writes the end fields, counters, chain head and seal, releases
  // the live lock and stops the thread. Call once. Returns the first write error (fail closed);
  // the row then records end_reason "error" and the failure when it can still be written.
  Status Finish(const SessionEnd& end);

  struct Impl;  // schema/session_writer.cc
 private:
  explicit SessionWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// --- Verification ------------------------------------------------------------------------------

// The result of recomputing a session's chain and seal from its stored rows.
struct SessionCheck {
  int64_t frames_read = 0;
  // The first frame whose stored hash is not ChainNext(previous stored hash, its fields); a frame
  // edited, reordered or deleted shows here (the frame after a deleted one).
  std::optional<int64_t> first_bad_seq;
  bool head_matches = false;   // the row's chain_head is the last frame's hash (NULL: no frame)
  bool count_matches = false;  // the row's frames column equals the frames read
  bool sealed = false;         // the row has a seal
  bool seal_matches = false;   // ComputeSeal over the stored row equals the seal
  std::string problem;         // the first problem, one line; empty when intact
  bool intact() const {
    return !first_bad_seq && head_matches && count_matches && sealed && seal_matches;
  }
};
// Reads every frame of `row` (from Find or List) in constant memory and checks the chain, the
// head, the count and the seal. An unsealed session is never intact. Errors only when reading
// fails (Corruption naming the frame for a row that cannot be decoded), unless an earlier frame
// already did not match its hash: that frame is then the problem reported.
Result<SessionCheck> CheckSession(Store& store, const SessionRow& row);

// --- Identifiers -------------------------------------------------------------------------------

// A new UUIDv7 (RFC 9562) for the Unix time `unix_ns`: 48-bit milliseconds, 12 bits of
// sub-millisecond fraction (so ids sort by time), 62 random bits (OpenSSL RAND_bytes). Lower-case
// 8-4-4-4-12 text. IOError when the random generator fails.
Result<std::string> NewUuidV7(int64_t unix_ns);
// The part of an id that differs between sessions started together: its last 12 hex digits.
std::string_view IdTail(std::string_view id);

// --- Tamper evidence (schema/README.md gives the exact bytes) ----------------------------------

// The chain's starting value: SHA-256 of the session id's text.
Hash ChainStart(std::string_view session_id);
// The hash of a frame: SHA-256(prev || seq || t_ns || direction || channel || len || payload).
Hash ChainNext(const Hash& prev, int64_t seq, int64_t t_ns, Direction direction, uint8_t channel,
               std::string_view payload);
// The seal: SHA-256 over the chain head (ChainStart(id) when no frame), the frame count and the
// session's recorded fields in a length-prefixed serialisation (SealInput).
Hash ComputeSeal(const SessionMeta& meta, const SessionEnd& end, const Hash& chain_head,
                 int64_t frames);
std::string SealInput(const SessionMeta& meta, const SessionEnd& end, const Hash& chain_head,
                      int64_t frames);
std::string HashHex(const Hash& hash);  // 64 lower-case hex chars

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_STORE_H_
