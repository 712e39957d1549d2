// Helpers for the store tests: sessions with known contents, chain checks, bounded child
// processes.
#ifndef PODTAPE_TESTS_SCHEMA_STORE_TEST_UTIL_H_
#define PODTAPE_TESTS_SCHEMA_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "schema/store.h"

namespace podtape::store::testing {

inline SessionMeta SampleMeta(std::string pod = "web-0") {
  SessionMeta m;
  m.kind = "exec";
  m.server = "https://127.0.0.1:6443";
  m.cluster = "kind";
  m.context = "kind-admin";
  m.namespace_ = "default";
  m.pod = std::move(pod);
  m.container = "app";
  m.command = {"sh", "-c", "echo hi; exit 3"};
  m.tty = true;
  m.stdin_ = true;
  m.protocol = "v5.channel.k8s.io";
  m.term_cols = 120;
  m.term_rows = 40;
  m.term_type = "xterm-256color";
  m.title = "debugging";
  m.user = "alice@example.com";
  m.groups = {"system:authenticated", "devs"};
  m.user_source = "selfsubjectreview";
  m.kube_user = "alice";
  m.as_user = "";
  m.as_groups = {};
  m.local_user = "al";
  m.host = "laptop";
  m.recorder_version = "0.1.0";
  return m;
}

// A payload that depends only on seq, so a reader can check every byte.
inline std::string PayloadFor(int64_t seq, size_t size) {
  std::string p(size, '\0');
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<char>((seq * 131 + i * 7) & 0xff);
  return p;
}

struct ReadBack {
  std::vector<int64_t> seqs;
  std::vector<int64_t> t_ns;
  std::vector<std::string> payloads;
  std::vector<uint8_t> channels;
  std::vector<Direction> directions;
  bool chain_ok = true;
  int64_t first_bad_seq = -1;
  Hash head{};
  Status status;
};

// Reads every frame of `id` and recomputes the hash chain from ChainStart(id).
inline ReadBack ReadAll(Store& store, const std::string& id) {
  ReadBack r;
  Hash prev = ChainStart(id);
  r.status = store.ReadFrames(id, [&](const FrameView& f) {
    r.seqs.push_back(f.seq);
    r.t_ns.push_back(f.t_ns);
    r.payloads.emplace_back(f.payload);
    r.channels.push_back(f.channel);
    r.directions.push_back(f.direction);
    Hash h = ChainNext(prev, f.seq, f.t_ns, f.direction, f.channel, f.payload);
    if (h != f.hash && r.chain_ok) {
      r.chain_ok = false;
      r.first_bad_seq = f.seq;
    }
    prev = f.hash;
    return Status::OK();
  });
  r.head = prev;
  return r;
}

// Runs `fn` in a forked child that exits with its result. The child only uses objects it
// creates itself.
inline pid_t ForkChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    int rc = 99;
    try {
      rc = fn();
    } catch (...) {
    }
    _exit(rc);
  }
  return pid;
}

// Waits for a child at most `timeout`; kills it (SIGKILL, by PID) past that. Returns the exit
// code, 128+N when killed by signal N, -1 on timeout.
inline int WaitChild(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return -1;
    }
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Reads one byte from `fd` within `timeout`; false on timeout or EOF.
inline bool ReadByte(int fd, std::chrono::milliseconds timeout, char* out) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  return read(fd, out, 1) == 1;
}

}  // namespace podtape::store::testing

#endif  // PODTAPE_TESTS_SCHEMA_STORE_TEST_UTIL_H_
