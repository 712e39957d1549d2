#include "test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace podtape::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> BuildEnv(const RunOptions& options) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const std::string& name : options.unset_env) env.erase(name);
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// Forks and execs; the child's stdin/stdout/stderr become the given fds (-1 = /dev/null).
pid_t Spawn(const std::vector<std::string>& argv, const RunOptions& options, int in_fd, int out_fd,
            int err_fd) {
  std::vector<std::string> env = BuildEnv(options);
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  int devnull = open("/dev/null", O_RDWR);
  dup2(in_fd >= 0 ? in_fd : devnull, 0);
  dup2(out_fd >= 0 ? out_fd : devnull, 1);
  dup2(err_fd >= 0 ? err_fd : devnull, 2);
  for (int fd = 3; fd < 1024; ++fd) close(fd);
  if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
  signal(SIGPIPE, SIG_DFL);
  execvpe(cargv[0], cargv.data(), cenv.data());
  _exit(127);
}

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/podtape-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

RunResult Run(const std::vector<std::string>& argv, const RunOptions& options) {
  signal(SIGPIPE, SIG_IGN);
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = Spawn(argv, options, in_pipe[0], out_pipe[1], err_pipe[1]);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  int in_fd = in_pipe[1], out_fd = out_pipe[0], err_fd = err_pipe[0];
  fcntl(in_fd, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (options.stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  RunResult result;
  auto deadline = Clock::now() + options.timeout;
  char buf[65536];
  while (out_fd >= 0 || err_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    int r = poll(fds, n, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, options.stdin_data.data() + written,
                          std::min<size_t>(options.stdin_data.size() - written, 65536));
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = options.stdin_data.size();
        if (written == options.stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      std::string& sink = fds[i].fd == out_fd ? result.out : result.err;
      if (got > 0) {
        sink.append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeWait(status);
  return result;
}

Server::~Server() {
  Stop();
  if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
}

std::string Server::Start(const std::vector<std::string>& argv, const RunOptions& options) {
  char tmpl[] = "/tmp/podtape-server-stderr-XXXXXX";
  int err_fd = mkstemp(tmpl);
  stderr_path_ = tmpl;
  int out_pipe[2];
  if (err_fd < 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    error_ = "cannot create pipes";
    return "";
  }
  pid_ = Spawn(argv, options, -1, out_pipe[1], err_fd);
  close(out_pipe[1]);
  close(err_fd);
  stdout_fd_ = out_pipe[0];
  // Read the first line, bounded in time.
  std::string line;
  auto deadline = Clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{stdout_fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char c[256];
    ssize_t n = read(stdout_fd_, c, sizeof c);
    if (n <= 0) break;
    line.append(c, static_cast<size_t>(n));
  }
  const std::string prefix = "listening on ";
  size_t nl = line.find('\n');
  if (nl == std::string::npos || line.compare(0, prefix.size(), prefix) != 0) {
    error_ =
        "server did not print 'listening on URL' (stdout: " + line + ", stderr: " + Stderr() + ")";
    Stop();
    return "";
  }
  url_ = line.substr(prefix.size(), nl - prefix.size());
  // Keep draining stdout in the background so the server never blocks on a full pipe.
  int fd = stdout_fd_;
  stdout_fd_ = -1;
  std::thread([fd] {
    char c[4096];
    while (read(fd, c, sizeof c) > 0) {
    }
    close(fd);
  }).detach();
  return url_;
}

void Server::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    auto deadline = Clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (true) {
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  if (stdout_fd_ >= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
  }
}

std::string Server::Stderr() const { return stderr_path_.empty() ? "" : ReadFile(stderr_path_); }

struct Process::Streams {
  std::mutex mu;
  std::condition_variable cv;
  std::string out, err;
  bool out_closed = false, err_closed = false;
  std::thread out_reader, err_reader;
};

namespace {
void DrainInto(int fd, Process::Streams* s, bool is_out) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(s->mu);
    if (n <= 0) {
      (is_out ? s->out_closed : s->err_closed) = true;
      s->cv.notify_all();
      break;
    }
    (is_out ? s->out : s->err).append(buf, static_cast<size_t>(n));
    s->cv.notify_all();
  }
  close(fd);
}
}  // namespace

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(30));
  }
}

bool Process::Start(const std::vector<std::string>& argv, const RunOptions& options) {
  signal(SIGPIPE, SIG_IGN);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return false;
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return false;
  }
  pid_ = Spawn(argv, options, -1, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  streams_ = std::make_shared<Streams>();
  std::shared_ptr<Streams> s = streams_;  // each reader keeps it alive, even when detached
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  s->out_reader = std::thread([out_fd, s] { DrainInto(out_fd, s.get(), true); });
  s->err_reader = std::thread([err_fd, s] { DrainInto(err_fd, s.get(), false); });
  return pid_ > 0;
}

bool Process::WaitForStdout(const std::string& text, std::chrono::milliseconds timeout) {
  if (!streams_) return false;
  std::unique_lock lock(streams_->mu);
  streams_->cv.wait_for(lock, timeout, [&] {
    return streams_->out.find(text) != std::string::npos || streams_->out_closed;
  });
  return streams_->out.find(text) != std::string::npos;
}

void Process::Signal(int signo) {
  if (pid_ > 0) kill(pid_, signo);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  auto deadline = Clock::now() + timeout;
  int status = 0;
  int code = -1;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      code = DecodeWait(status);
      break;
    }
    if (r < 0 && errno != EINTR) break;
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  // The pipes close once the process and anything it started that kept them are gone: bounded.
  {
    std::unique_lock lock(streams_->mu);
    streams_->cv.wait_until(lock, Clock::now() + std::chrono::seconds(10),
                            [&] { return streams_->out_closed && streams_->err_closed; });
  }
  for (std::thread* t : {&streams_->out_reader, &streams_->err_reader}) {
    if (!t->joinable()) continue;
    bool closed;
    {
      std::lock_guard lock(streams_->mu);
      closed = t == &streams_->out_reader ? streams_->out_closed : streams_->err_closed;
    }
    if (closed) {
      t->join();
    } else {
      t->detach();  // a grandchild keeps the pipe open; the shared Streams outlive the thread
    }
  }
  return code;
}

std::string Process::Stdout() const {
  if (!streams_) return "";
  std::lock_guard lock(streams_->mu);
  return streams_->out;
}

std::string Process::Stderr() const {
  if (!streams_) return "";
  std::lock_guard lock(streams_->mu);
  return streams_->err;
}

std::string KubectlDir() {
  RunResult r = Run({"sh", "-c", "readlink -f \"$(command -v kubectl)\""});
  std::string path = r.out.substr(0, r.out.find('\n'));
  if (r.exit_code != 0 || path.empty()) return "";
  return std::filesystem::path(path).parent_path().string();
}

}  // namespace podtape::testing
