// Search latency on a store of many sessions (issue 6, "Speed"): builds SESSIONS sessions with
// MIB MiB of recorded output in all (half TTY, half not; each with typed commands and output
// lines of ordinary words, one session holding a rare word), indexes them (the time, and the
// store's growth per recorded byte), and times a search for a rare and a common word (median of
// 9 runs, limit 50, newest first): `QueryIndex` alone, and the whole of what `podtape search`
// does after opening the store (catch-up check, query, join with the sessions).
// Prints figures; never pass/fail.
//
// usage: search_bench [--sessions N (1000)] [--mb M (1024 MiB)] [--db PATH (default: a temporary
//        file, removed at the end; a PATH is kept, and an existing one is only indexed and
//        searched)]
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "player/audit.h"
#include "player/search.h"
#include "schema/index_store.h"
#include "schema/store.h"

using namespace podtape;

namespace {

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

const char* kWords[] = {"alpha", "bravo",  "charlie", "delta", "echo",   "foxtrot", "golf",
                        "hotel", "india",  "juliet",  "kilo",  "lima",   "mike",    "november",
                        "oscar", "papa",   "quebec",  "romeo", "sierra", "tango",   "uniform",
                        "error", "status", "running", "pod",   "ready",  "config",  "deploy"};

// The store's bytes on disk: the file, its search index file and their WALs.
int64_t StoreBytes(const std::string& db) {
  int64_t n = 0;
  for (const std::string& f : {db, db + "-wal", db + ".index", db + ".index-wal"}) {
    struct stat st;
    if (stat(f.c_str(), &st) == 0) n += st.st_size;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  int sessions = 1000;
  int64_t mib = 1024;
  std::string db;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--sessions") sessions = std::atoi(argv[i + 1]);
    if (a == "--mb" || a == "--mib") mib = std::atoll(argv[i + 1]);
    if (a == "--db") db = argv[i + 1];
  }
  const bool temporary = db.empty();
  if (temporary) db = fmt::format("/tmp/search_bench_{}.db", getpid());
  const int64_t per_session = mib * (1 << 20) / sessions;
  std::mt19937 rng(42);
  const bool reuse = access(db.c_str(), F_OK) == 0;  // an existing store is searched as it is
  int64_t recorded = 0;                              // payload bytes written, both directions
  auto t0 = std::chrono::steady_clock::now();
  if (!reuse) {
    auto store = store::Store::Open(db);
    if (!store.ok()) {
      std::fprintf(stderr, "error: %s\n", store.status().message().c_str());
      return 1;
    }
    std::string line, chunk;
    for (int s = 0; s < sessions; ++s) {
      store::SessionMeta m;
      m.kind = "exec";
      m.namespace_ = "bench";
      m.pod = fmt::format("pod-{}", s % 50);
      m.container = "app";
      m.tty = s % 2 == 0;
      m.stdin_ = true;
      m.term_cols = 120;
      m.term_rows = 40;
      m.command = {"bash"};
      m.user = fmt::format("user{}", s % 20);
      m.started_at_ns = int64_t{1795680000} * 1'000'000'000 + int64_t{s} * 60'000'000'000;
      auto w = store::SessionWriter::Start(**store, m);
      if (!w.ok()) return 1;
      int64_t t = 0, written = 0;
      int cmd = 0;
      while (written < per_session) {
        std::string typed = fmt::format("grep {} /var/log/app-{}.log", kWords[rng() % 28], cmd++);
        if (s == sessions / 2 && cmd == 3) typed = "cat /etc/zanzibar-quokka.conf";
        (void)(*w)->Append(t += 1'000'000, store::Direction::kFromServer, 1, "$ ");
        (void)(*w)->Append(t += 1'000'000, store::Direction::kToServer, 0, typed + "\r");
        (void)(*w)->Append(t += 1'000'000, store::Direction::kFromServer, 1, typed + "\r\n");
        chunk.clear();
        for (int l = 0; l < 64; ++l) {
          line.clear();
          for (int k = 0; k < 10; ++k) {
            line += kWords[rng() % 28];
            line += ' ';
          }
          line += "\r\n";
          chunk += line;
        }
        (void)(*w)->Append(t += 1'000'000, store::Direction::kFromServer, 1, chunk);
        written += static_cast<int64_t>(chunk.size() + typed.size() + 4);
        recorded += static_cast<int64_t>(chunk.size() + 2 * typed.size() + 5);
      }
      store::SessionEnd end;
      end.exit_code = 0;
      if (!(*w)->Finish(end).ok()) return 1;
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  auto store = store::Store::Open(db);
  if (!store.ok()) return 1;
  const int64_t bytes_before = StoreBytes(db);
  Result<player::IndexRun> n = player::IndexPendingSessions(**store, std::chrono::milliseconds(-1));
  if (!n.ok()) {
    std::fprintf(stderr, "error: %s\n", n.status().message().c_str());
    return 1;
  }
  auto t2 = std::chrono::steady_clock::now();
  const int64_t bytes_after = StoreBytes(db);
  if (reuse) {
    std::printf("store: %s (existing)\n", db.c_str());
  } else {
    std::printf("store: %s, %d sessions, %lld MiB of output\n", db.c_str(), sessions,
                static_cast<long long>(mib));
  }
  std::printf("record: %.0f ms; index %d sessions: %.0f ms", Ms(t1 - t0), n->indexed, Ms(t2 - t1));
  if (recorded > 0) {
    std::printf(
        " (%.1f MiB/s of recorded bytes); the store grew %.0f MiB: %.2f bytes per recorded byte",
        static_cast<double>(recorded) / (1 << 20) / (Ms(t2 - t1) / 1000),
        static_cast<double>(bytes_after - bytes_before) / (1 << 20),
        static_cast<double>(bytes_after - bytes_before) / static_cast<double>(recorded));
  }
  std::printf("\n");
  for (const char* word : {"zanzibar-quokka", "november", "foxtrot tango"}) {
    std::vector<double> times;
    size_t hits = 0;
    for (int i = 0; i < 9; ++i) {
      store::IndexQuery q;
      q.text = word;
      q.limit = 50;
      auto a = std::chrono::steady_clock::now();
      auto r = store::QueryIndex(**store, q);
      auto b = std::chrono::steady_clock::now();
      if (!r.ok()) {
        std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
        return 1;
      }
      hits = r->size();
      times.push_back(Ms(b - a));
    }
    std::vector<double> full;
    for (int i = 0; i < 9; ++i) {
      store::IndexQuery q;
      q.text = word;
      q.limit = 50;
      auto a = std::chrono::steady_clock::now();
      auto r = player::QueryIndexRows(**store, q, player::kIndexerWait);
      auto b = std::chrono::steady_clock::now();
      if (!r.ok()) {
        std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
        return 1;
      }
      full.push_back(Ms(b - a));
    }
    std::sort(times.begin(), times.end());
    std::sort(full.begin(), full.end());
    std::printf(
        "search %-18s: query median %.1f ms (max %.1f); as podtape search: median %.1f ms (max "
        "%.1f) (%zu hits, limit 50)\n",
        (std::string("\"") + word + "\"").c_str(), times[4], times.back(), full[4], full.back(),
        hits);
  }
  (*store).reset();  // closed before its files go
  if (temporary) {
    for (const std::string& f : {db, db + "-wal", db + "-shm", db + ".live", db + ".indexing",
                                 db + ".index", db + ".index-wal", db + ".index-shm"}) {
      unlink(f.c_str());
    }
  }
  return 0;
}
