// Store benchmark: frames/s and MB/s through the real SessionWriter (bounded queue, writer
// thread, hash chain, batched commits) next to plain SQLite inserts of the same rows into the
// same schema, in the same run, with the ratio. Target: the writer keeps >= 85% of the peer.
//
// This is the one file outside schema/ that includes sqlite3.h: the plain-SQLite peer must talk
// to SQLite directly to be a fair baseline.
//
// Usage: store_bench [--dir DIR] [--mb N] [--runs N]
//   DIR  where the database files go (default $TMPDIR or /tmp); N MB of payload per run (256);
//   each figure is the best of --runs runs (3).
#include <fmt/format.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "schema/store.h"

namespace {

using podtape::store::ChainNext;
using podtape::store::ChainStart;
using podtape::store::Direction;
using podtape::store::Hash;
using podtape::store::SessionMeta;
using podtape::store::SessionWriter;
using podtape::store::Store;
using Clock = std::chrono::steady_clock;

struct Rate {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system time of the whole process (all threads)
  int64_t frames = 0;
  int64_t bytes = 0;
  double fps() const { return frames / seconds; }
  double mbps() const { return bytes / seconds / 1e6; }
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", ".live"}) {
    std::filesystem::remove(path + suffix);
  }
}

SessionMeta BenchMeta() {
  SessionMeta m;
  m.kind = "exec";
  m.namespace_ = "bench";
  m.pod = "bench-0";
  m.command = {"cat"};
  return m;
}

// A pool of distinct payloads, reused round-robin.
std::vector<std::string> Payloads(size_t size) {
  std::vector<std::string> pool(16, std::string(size, '\0'));
  for (size_t k = 0; k < pool.size(); ++k) {
    for (size_t i = 0; i < size; ++i) pool[k][i] = static_cast<char>((k * 31 + i * 7) & 0xff);
  }
  return pool;
}

// The real writer: Start, Append every frame from this (producer) thread, Finish.
Rate RunWriter(const std::string& path, size_t size, int64_t n,
               const std::vector<std::string>& pool) {
  RemoveDb(path);
  {
    auto s = Store::Open(path);
    if (!s.ok()) Die(s.status().message());
  }
  auto start = Clock::now();
  double cpu = CpuSeconds();
  auto w = SessionWriter::Start(path, BenchMeta());
  if (!w.ok()) Die(w.status().message());
  for (int64_t i = 0; i < n; ++i) {
    auto st = (*w)->Append(i * 1000, Direction::kFromServer, 1, pool[i % pool.size()]);
    if (!st.ok()) Die(st.message());
  }
  auto st = (*w)->Finish({});
  if (!st.ok()) Die(st.message());
  Rate r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_seconds = CpuSeconds() - cpu;
  r.frames = n;
  r.bytes = n * static_cast<int64_t>(size);
  return r;
}

void Check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    Die(fmt::format("{}: {}", what, sqlite3_errmsg(db)));
  }
}

// The peer: the same rows inserted with one prepared statement, one transaction per batch of
// `batch` frames, WAL + synchronous=NORMAL as the store sets them, and SQLite's own checkpoint
// policy (every 1000 WAL pages, on commit). With `hash_inline` it also computes the SHA-256 chain
// as it goes (the work the store must do per frame); without, the hashes are precomputed outside
// the timing (pure SQLite).
Rate RunPlain(const std::string& path, size_t size, int64_t n, const std::vector<std::string>& pool,
              const std::vector<Hash>& hashes, int64_t batch, bool hash_inline) {
  RemoveDb(path);
  {
    auto s = Store::Open(path);
    if (!s.ok()) Die(s.status().message());
  }  // same schema
  auto start = Clock::now();
  double cpu = CpuSeconds();
  sqlite3* db = nullptr;
  Check(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr),
        db, "open");
  sqlite3_busy_timeout(db, 5000);
  Check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr,
                     nullptr),
        db, "pragmas");
  Check(sqlite3_exec(db,
                     "INSERT INTO sessions (id, kind, started_at_ns) "
                     "VALUES ('00000000-0000-7000-8000-000000000000', 'exec', 1)",
                     nullptr, nullptr, nullptr),
        db, "session");
  int64_t key = sqlite3_last_insert_rowid(db);
  Hash prev = ChainStart("00000000-0000-7000-8000-000000000000");
  sqlite3_stmt* ins = nullptr;
  Check(sqlite3_prepare_v2(db,
                           "INSERT INTO frames (session_key, seq, t_ns, direction, channel, "
                           "codec, payload, hash) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
                           -1, &ins, nullptr),
        db, "prepare");
  for (int64_t i = 0; i < n;) {
    Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    for (int64_t end = std::min(n, i + batch); i < end; ++i) {
      const std::string& p = pool[i % pool.size()];
      sqlite3_bind_int64(ins, 1, key);
      sqlite3_bind_int64(ins, 2, i);
      sqlite3_bind_int64(ins, 3, i * 1000);
      sqlite3_bind_int(ins, 4, 1);
      sqlite3_bind_int(ins, 5, 1);
      sqlite3_bind_blob(ins, 6, p.data(), static_cast<int>(p.size()), SQLITE_STATIC);
      if (hash_inline) {
        prev = ChainNext(prev, i, i * 1000, Direction::kFromServer, 1, p);
        sqlite3_bind_blob(ins, 7, prev.data(), 32, SQLITE_STATIC);
      } else {
        sqlite3_bind_blob(ins, 7, hashes[i].data(), 32, SQLITE_STATIC);
      }
      Check(sqlite3_step(ins), db, "insert");
      sqlite3_reset(ins);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  }
  sqlite3_finalize(ins);
  sqlite3_close(db);
  Rate r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_seconds = CpuSeconds() - cpu;
  r.frames = n;
  r.bytes = n * static_cast<int64_t>(size);
  return r;
}

Rate Best(const std::vector<Rate>& runs) {
  return *std::min_element(runs.begin(), runs.end(),
                           [](const Rate& a, const Rate& b) { return a.seconds < b.seconds; });
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  int64_t mb = 256;
  int runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--mb") {
      mb = std::atoll(argv[i + 1]);
    } else if (flag == "--runs") {
      runs = std::max(1, std::atoi(argv[i + 1]));
    } else {
      Die("usage: store_bench [--dir DIR] [--mb N] [--runs N]");
    }
  }
  std::string path = fmt::format("{}/store_bench_{}.db", dir, getpid());
  SessionWriter::Options defaults;
  std::printf("store_bench: %lld MB of payload per run, best of %d, in %s\n",
              static_cast<long long>(mb), runs, dir.c_str());
  std::printf("%-7s %-38s %10s %8s %8s %7s\n", "frame", "path", "frames/s", "MB/s", "CPU s",
              "ratio");
  for (size_t size : {size_t{64}, size_t{32768}}) {
    // Small frames: fewer of them, or the run takes a minute at ~1 M rows/s.
    int64_t n = size == 64 ? std::min<int64_t>(mb * 1000000 / 64, 2000000)
                           : mb * 1000000 / static_cast<int64_t>(size);
    auto pool = Payloads(size);
    std::vector<Hash> hashes(n);
    Hash prev = ChainStart("00000000-0000-7000-8000-000000000000");
    for (int64_t i = 0; i < n; ++i) {
      prev = hashes[i] = ChainNext(prev, i, i * 1000, Direction::kFromServer, 1, pool[i % 16]);
    }
    // The peer's batch: what the writer commits at once under load (a quarter of its queue).
    int64_t batch = std::max<int64_t>(1, (defaults.queue_bytes / 4) / (size + 80));
    std::vector<Rate> writer, plain, plain_hash;
    for (int r = 0; r < runs; ++r) {
      writer.push_back(RunWriter(path, size, n, pool));
      plain.push_back(RunPlain(path, size, n, pool, hashes, batch, false));
      plain_hash.push_back(RunPlain(path, size, n, pool, hashes, batch, true));
    }
    RemoveDb(path);
    Rate w = Best(writer), p = Best(plain), q = Best(plain_hash);
    std::string label = size == 64 ? "64 B" : "32 KiB";
    // `writer` given: the line is a peer's, and its ratio is the writer's rate over the peer's.
    auto line = [&](const std::string& name, const Rate& r, const Rate* writer) {
      std::string ratio =
          writer != nullptr ? fmt::format("{:.0f}%", 100.0 * writer->fps() / r.fps()) : "";
      std::printf("%-7s %-38s %10.0f %8.1f %8.2f %7s\n", label.c_str(), name.c_str(), r.fps(),
                  r.mbps(), r.cpu_seconds, ratio.c_str());
    };
    line("SessionWriter", w, nullptr);
    line(fmt::format("plain SQLite (batch {})", batch), p, &w);
    line("plain SQLite + inline SHA-256 chain", q, &w);
  }
  std::printf(
      "ratio = SessionWriter rate / that peer's rate (target >= 85%%); CPU s = process CPU time "
      "of the best run (all threads)\n");
  return 0;
}
