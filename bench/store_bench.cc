// Store benchmark: frames/s and MB/s through the real SessionWriter (bounded queue, writer
// thread, hash chain, compression, batched commits) next to plain SQLite inserts of the same
// rows, uncompressed, into the same schema, in the same run, with the ratio; and the database
// bytes (sessions and frames, the search index apart) per recorded byte. Payloads: text-like
// (tests/schema/text_log.h, a generated log stream) and random bytes, in 64-byte and 32 KiB
// frames. Target: the writer keeps >= 85% of the peer.
//
// This is the one file outside schema/ that includes sqlite3.h: the plain-SQLite peer must talk
// to SQLite directly to be a fair baseline.
//
// Usage: store_bench [--dir DIR] [--mb N] [--runs N] [--case 64-text|32k-text|32k-random]
//   DIR  where the database files go (default $TMPDIR or /tmp); N MB of payload per run (256);
//   runs alternate writer, peer, peer + hash, --runs times (3); each figure is the median run,
//   each ratio the median of the per-run ratios.
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
#include "tests/schema/text_log.h"

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
  int64_t stored = 0;  // database bytes (StoredBytes) after the run
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

// A pool of distinct payloads, reused round-robin: consecutive pieces of one generated log
// stream, or random bytes.
std::vector<std::string> Payloads(size_t size, bool text) {
  podtape::store::testing::TextLog log;
  std::vector<std::string> pool;
  for (int k = 0; k < 64; ++k) pool.push_back(text ? log.Chunk(size) : log.RandomBytes(size));
  return pool;
}

// Database bytes of the sessions and frames tables and their indexes (not the search index).
int64_t StoredBytes(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    Die(fmt::format("opening {}: {}", path, sqlite3_errmsg(db)));
  }
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT sum(pgsize) FROM dbstat WHERE name NOT LIKE 'index%' AND "
                              "name <> 'indexed_sessions'",
                              -1, &s, nullptr);
  if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
    Die(fmt::format("measuring {}: {}", path, sqlite3_errmsg(db)));
  }
  int64_t bytes = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return bytes;
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
  r.stored = StoredBytes(path);
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
  r.stored = StoredBytes(path);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
}

Rate MedianRun(std::vector<Rate> runs) {
  std::sort(runs.begin(), runs.end(),
            [](const Rate& a, const Rate& b) { return a.seconds < b.seconds; });
  return runs[runs.size() / 2];
}

// The median over runs of writer rate / peer rate (runs alternate, so each pair shares its
// moment's machine load).
double MedianRatio(const std::vector<Rate>& writer, const std::vector<Rate>& peer) {
  std::vector<double> ratios;
  for (size_t i = 0; i < writer.size(); ++i) {
    ratios.push_back(writer[i].fps() / peer[i].fps());
  }
  return Median(ratios);
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  int64_t mb = 256;
  int runs = 3;
  std::string only;  // one case, for profiling
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--mb") {
      mb = std::atoll(argv[i + 1]);
    } else if (flag == "--runs") {
      runs = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--case") {
      only = argv[i + 1];
    } else {
      Die("usage: store_bench [--dir DIR] [--mb N] [--runs N] [--case "
          "64-text|32k-text|32k-random]");
    }
  }
  std::string path = fmt::format("{}/store_bench_{}.db", dir, getpid());
  SessionWriter::Options defaults;
  std::printf("store_bench: %lld MB of payload per run, median of %d alternating runs, in %s\n",
              static_cast<long long>(mb), runs, dir.c_str());
  std::printf("%-14s %-38s %10s %8s %8s %7s %9s\n", "frames", "path", "frames/s", "MB/s", "CPU s",
              "ratio", "stored/B");
  struct Case {
    size_t size;
    bool text;
  };
  for (Case c : {Case{64, true}, Case{32768, true}, Case{32768, false}}) {
    const size_t size = c.size;
    const std::string name =
        fmt::format("{}-{}", size == 64 ? "64" : "32k", c.text ? "text" : "random");
    if (!only.empty() && only != name) continue;
    // Small frames: fewer of them, or the run takes a minute at ~1 M rows/s.
    int64_t n = size == 64 ? std::min<int64_t>(mb * 1000000 / 64, 2000000)
                           : mb * 1000000 / static_cast<int64_t>(size);
    auto pool = Payloads(size, c.text);
    std::vector<Hash> hashes(n);
    Hash prev = ChainStart("00000000-0000-7000-8000-000000000000");
    for (int64_t i = 0; i < n; ++i) {
      prev = hashes[i] =
          ChainNext(prev, i, i * 1000, Direction::kFromServer, 1, pool[i % pool.size()]);
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
    std::string label =
        fmt::format("{} {}", size == 64 ? "64 B" : "32 KiB", c.text ? "text" : "random");
    // `peer_of` given: the line is a peer's, and its ratio is the writer's over the peer's.
    auto line = [&](const std::string& name, const std::vector<Rate>& rates,
                    const std::vector<Rate>* peer_of) {
      Rate r = MedianRun(rates);
      std::string ratio =
          peer_of != nullptr ? fmt::format("{:.0f}%", 100.0 * MedianRatio(*peer_of, rates)) : "";
      std::printf("%-14s %-38s %10.0f %8.1f %8.2f %7s %9.3f\n", label.c_str(), name.c_str(),
                  r.fps(), r.mbps(), r.cpu_seconds, ratio.c_str(),
                  static_cast<double>(r.stored) / static_cast<double>(r.bytes));
    };
    line("SessionWriter (hash, zstd, commit)", writer, nullptr);
    line(fmt::format("plain SQLite (batch {})", batch), plain, &writer);
    line("plain SQLite + inline SHA-256 chain", plain_hash, &writer);
  }
  std::printf(
      "ratio = SessionWriter rate / that peer's rate, median of the per-run ratios (target >= "
      "85%%);\nCPU s = process CPU time of the median run (all threads); stored/B = database "
      "bytes (sessions, frames; not the search index) per payload byte\n");
  return 0;
}
