// Reading back: `podtape cat` and `podtape export` (cast-v2, cast-v3) of one large text-like
// session, in MB/s, in this process (the same code the commands run), output to /dev/null.
//
// The session: deterministic log lines (timestamps, levels in colour now and then, key=value
// fields, quoted strings, tabs) in 32 KiB frames 1 ms apart, as `exec -- cat app.log` records
// them. Figures are the median of --runs runs; cat is bounded by SQLite's blob reads, export by
// UTF-8 decoding and JSON string escaping.
//
// Usage: readback_bench [--dir DIR] [--mb N] [--runs N] [--keep]
//   DIR  where the database goes (default /dev/shm, else $TMPDIR or /tmp); N MiB of output (256);
//   --keep leaves DIR/readback.db and DIR/readback-v2.cast for the peer (asciinema cat) to read:
//   see bench/README.md.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "player/export.h"
#include "player/output.h"
#include "schema/store.h"

namespace {

using podtape::Status;
using Clock = std::chrono::steady_clock;
namespace store = podtape::store;
namespace player = podtape::player;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "readback_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& st, const char* what) {
  if (!st.ok()) Die(fmt::format("{}: {}", what, st.message()));
}

void RemoveDb(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", ".live"}) std::filesystem::remove(path + suffix);
}

// Deterministic text-like output: log lines with a little of everything JSON escaping meets.
class LogLines {
 public:
  void Append(std::string* out) {
    static const char* const kLevels[] = {"INFO ", "INFO ", "DEBUG", "INFO ", "WARN ", "ERROR"};
    static const char* const kPaths[] = {"/api/v1/orders", "/healthz", "/api/v1/users/42",
                                         "/static/app.js", "/api/v2/search?q=caf\xC3\xA9"};
    const uint64_t r = Next();
    const int level = static_cast<int>(r % 6);
    const int64_t ms = n_ * 7;
    fmt::format_to(std::back_inserter(*out), "2026-11-26T{:02}:{:02}:{:02}.{:03}Z ",
                   (ms / 3'600'000) % 24, (ms / 60'000) % 60, (ms / 1000) % 60, ms % 1000);
    if (level >= 4) {
      fmt::format_to(std::back_inserter(*out), "\x1b[{}m{}\x1b[0m", level == 4 ? 33 : 31,
                     kLevels[level]);
    } else {
      out->append(kLevels[level]);
    }
    fmt::format_to(std::back_inserter(*out),
                   " req={:016x} method=GET path=\"{}\"\tstatus={} dur={}ms user=\"svc-{}\"\n", r,
                   kPaths[(r >> 8) % 5], level == 5 ? 500 : 200, (r >> 16) % 900, (r >> 24) % 100);
    ++n_;
  }

 private:
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
  int64_t n_ = 0;
};

int64_t BuildSession(const std::string& db, int64_t bytes) {
  store::SessionMeta meta;
  meta.kind = "exec";
  meta.namespace_ = "bench";
  meta.pod = "readback-0";
  meta.container = "app";
  meta.command = {"cat", "/var/log/app.log"};
  auto w = store::SessionWriter::Start(db, meta);
  if (!w.ok()) Die(w.status().message());
  LogLines lines;
  std::string text;
  constexpr size_t kFrame = 32 * 1024;
  int64_t written = 0;
  int64_t t_ns = 0;
  Check((*w)->Append(0, store::Direction::kFromServer, 1, ""), "append");
  while (written < bytes) {
    while (text.size() < kFrame) lines.Append(&text);
    Check((*w)->Append(t_ns += 1'000'000, store::Direction::kFromServer, 1,
                       std::string_view(text).substr(0, kFrame)),
          "append");
    text.erase(0, kFrame);
    written += kFrame;
  }
  store::SessionEnd end;
  end.exit_code = 0;
  Check((*w)->Finish(end), "finish");
  return written;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "";
  if (dir.empty()) dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  int64_t mb = 256;
  int runs = 3;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--mb" && i + 1 < argc) {
      mb = std::stoll(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--keep") {
      keep = true;
    } else {
      Die("usage: readback_bench [--dir DIR] [--mb N] [--runs N] [--keep]");
    }
  }
  const std::string db = dir + "/readback.db";
  RemoveDb(db);
  const auto t0 = Clock::now();
  const int64_t bytes = BuildSession(db, mb << 20);
  std::printf("session: %.1f MiB of text-like output in 32 KiB frames, written in %.2f s (%s)\n",
              static_cast<double>(bytes) / (1 << 20),
              std::chrono::duration<double>(Clock::now() - t0).count(), db.c_str());

  auto opened = store::Store::Open(db);
  if (!opened.ok()) Die(opened.status().message());
  store::Store& st = **opened;
  auto row = st.Find("last");
  if (!row.ok()) Die(row.status().message());

  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) Die("cannot open /dev/null");
  struct Case {
    const char* name;
    std::function<Status(player::ByteSink*)> run;
  };
  const std::vector<Case> cases = {
      {"cat",
       [&](player::ByteSink* out) {
         return player::CatSession(st, *row, player::CatChannels{}, out);
       }},
      {"export cast-v2",
       [&](player::ByteSink* out) {
         player::ExportOptions o;
         o.format = player::ExportFormat::kCastV2;
         return player::ExportSession(st, *row, o, out);
       }},
      {"export cast-v3",
       [&](player::ByteSink* out) {
         player::ExportOptions o;
         o.format = player::ExportFormat::kCastV3;
         return player::ExportSession(st, *row, o, out);
       }},
  };
  std::printf("%-16s %10s %12s %12s %12s\n", "what", "seconds", "out MB", "out MB/s",
              "session MB/s");
  for (const Case& c : cases) {
    std::vector<double> secs;
    int64_t out_bytes = 0;
    for (int r = 0; r < runs; ++r) {
      player::FdSink out(null_fd, "/dev/null");
      const auto start = Clock::now();
      Check(c.run(&out), c.name);
      secs.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      out_bytes = out.bytes_written();
    }
    const double s = Median(secs);
    std::printf("%-16s %10.3f %12.1f %12.1f %12.1f\n", c.name, s, out_bytes / 1e6,
                out_bytes / s / 1e6, bytes / s / 1e6);
  }
  close(null_fd);
  if (keep) {
    const std::string cast = dir + "/readback-v2.cast";
    const int fd = open(cast.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("cannot create " + cast);
    {
      player::FdSink out(fd, cast);
      player::ExportOptions o;
      o.format = player::ExportFormat::kCastV2;
      Check(player::ExportSession(st, *row, o, &out), "export");
    }
    close(fd);
    std::printf("kept %s and %s\n", db.c_str(), cast.c_str());
  } else {
    opened->reset();
    RemoveDb(db);
  }
  return 0;
}
