#include "samples/sim/process.h"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace podtape::sim {
namespace {

void CloseIf(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Runs in the child after fork: never returns. Reports errno through err_fd on failure.
[[noreturn]] void ExecChild(const SpawnOptions& o, char* const* argv, char* const* envp,
                            int err_fd) {
  for (int sig : {SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Everything but 0-2 and the error pipe goes: the simulator's sockets and other sessions'
  // pipes must not leak into this process (a leaked pipe end would hide EOF from its owner).
  if (err_fd > 3) ::close_range(3, err_fd - 1, 0);
  ::close_range(err_fd + 1, ~0U, 0);
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) {
    int e = errno;
    (void)!::write(err_fd, &e, sizeof e);
    _exit(127);
  }
  ::execvpe(argv[0], argv, envp);
  int e = errno;
  (void)!::write(err_fd, &e, sizeof e);
  _exit(127);
}

}  // namespace

Result<Child> Spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return Status::InvalidArgument("no command given");
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<std::string> env_strings = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=" + (o.cwd.empty() ? std::string("/") : o.cwd)};
  if (o.tty) env_strings.push_back("TERM=xterm");
  for (const auto& kv : o.env) {
    const std::string& key = kv.first;
    std::erase_if(env_strings, [&key](const std::string& s) {
      return s.size() > key.size() && s.compare(0, key.size(), key) == 0 && s[key.size()] == '=';
    });
    env_strings.push_back(key + "=" + kv.second);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = o.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  Child child;
  pid_t pid = -1;
  if (o.tty) {
    struct winsize ws {};
    ws.ws_col = o.size.width ? o.size.width : 80;
    ws.ws_row = o.size.height ? o.size.height : 24;
    int master = -1;
    pid = ::forkpty(&master, nullptr, nullptr, &ws);
    if (pid == 0) ExecChild(o, argv.data(), envp.data(), err_pipe[1]);
    if (pid > 0) {
      ::fcntl(master, F_SETFD, FD_CLOEXEC);
      child.stdout_fd = master;
      child.stdin_fd = ::fcntl(master, F_DUPFD_CLOEXEC, 0);
    }
  } else {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    bool ok = true;
    if (o.want_stdin) ok = ok && ::pipe2(in, O_CLOEXEC) == 0;
    if (o.want_stdout) ok = ok && ::pipe2(out, O_CLOEXEC) == 0;
    if (o.want_stderr) ok = ok && ::pipe2(err, O_CLOEXEC) == 0;
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (!ok || devnull < 0) {
      int e = errno;
      for (int fd :
           {in[0], in[1], out[0], out[1], err[0], err[1], devnull, err_pipe[0], err_pipe[1]}) {
        if (fd >= 0) ::close(fd);
      }
      return Status::IOError(fmt::format("pipe: {}", std::strerror(e)));
    }
    pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::dup2(o.want_stdin ? in[0] : devnull, 0);
      ::dup2(o.want_stdout ? out[1] : devnull, 1);
      ::dup2(o.want_stderr ? err[1] : devnull, 2);
      ExecChild(o, argv.data(), envp.data(), err_pipe[1]);
    }
    for (int fd : {in[0], out[1], err[1], devnull}) {
      if (fd >= 0) ::close(fd);
    }
    child.stdin_fd = in[1];
    child.stdout_fd = out[0];
    child.stderr_fd = err[0];
  }
  ::close(err_pipe[1]);
  if (pid < 0) {
    int e = errno;
    ::close(err_pipe[0]);
    CloseIf(child.stdin_fd);
    CloseIf(child.stdout_fd);
    CloseIf(child.stderr_fd);
    return Status::IOError(fmt::format("fork: {}", std::strerror(e)));
  }
  child.pid = pid;
  // The pipe closes on a successful exec (CLOEXEC); otherwise it carries errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof child_errno) {
    int ignored;
    ::waitpid(pid, &ignored, 0);
    CloseIf(child.stdin_fd);
    CloseIf(child.stdout_fd);
    CloseIf(child.stderr_fd);
    if (child_errno == ENOENT) {
      return Status::NotFound(fmt::format(
          "OCI runtime exec failed: exec failed: unable to start container process: exec: "
          "\"{}\": executable file not found in $PATH: unknown",
          o.argv[0]));
    }
    return Status::IOError(fmt::format(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{}\": "
        "{}: unknown",
        o.argv[0], std::strerror(child_errno)));
  }
  return child;
}

void KillProcessGroup(pid_t pid) {
  if (pid > 0) ::kill(-pid, SIGKILL);
}

void SetWindowSize(int pty_fd, codec::TerminalSize size) {
  struct winsize ws {};
  ws.ws_col = size.width;
  ws.ws_row = size.height;
  ::ioctl(pty_fd, TIOCSWINSZ, &ws);
}

int ExitCodeFromWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace podtape::sim
