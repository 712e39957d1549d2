#include <errno.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "player/output.h"
#include "player/playback_io.h"

namespace podtape::player {
namespace {

// The mode to restore, shared with the signal handler (async-signal-safe: tcsetattr, sigaction,
// raise).
struct termios g_saved;
std::atomic<int> g_raw_fd{-1};
struct sigaction g_old_actions[4];
constexpr int kSignals[4] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void RestoreNow() {
  int fd = g_raw_fd.exchange(-1);
  if (fd >= 0) tcsetattr(fd, TCSAFLUSH, &g_saved);
}

void OnSignal(int sig) {
  RestoreNow();
  for (int i = 0; i < 4; ++i) {
    if (kSignals[i] == sig) sigaction(sig, &g_old_actions[i], nullptr);
  }
  raise(sig);
}

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

bool TerminalSize(int fd, int* cols, int* rows) {
  struct winsize ws {};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return false;
  *cols = ws.ws_col;
  *rows = ws.ws_row;
  return true;
}

Result<std::unique_ptr<PosixPlaybackIo>> PosixPlaybackIo::Create(int in_fd, int out_fd, bool keys) {
  std::unique_ptr<PosixPlaybackIo> io(new PosixPlaybackIo(in_fd, out_fd));
  if (!keys || !isatty(in_fd)) return io;
  if (tcgetattr(in_fd, &g_saved) != 0) {
    return Status::IOError(fmt::format("reading the terminal mode: {}", ErrnoText(errno)));
  }
  struct termios raw = g_saved;
  // Keys one by one, no echo, no signals from the keyboard (Ctrl-C arrives as a key); output
  // processing stays on so recorded "\n" still returns the carriage as it did live.
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
  raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  for (int i = 0; i < 4; ++i) {
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(kSignals[i], &sa, &g_old_actions[i]);
  }
  g_raw_fd = in_fd;
  if (tcsetattr(in_fd, TCSAFLUSH, &raw) != 0) {
    g_raw_fd = -1;
    return Status::IOError(fmt::format("setting the terminal to raw mode: {}", ErrnoText(errno)));
  }
  io->keys_ = true;
  io->raw_ = true;
  return io;
}

PosixPlaybackIo::~PosixPlaybackIo() {
  if (!raw_) return;
  RestoreNow();
  for (int i = 0; i < 4; ++i) sigaction(kSignals[i], &g_old_actions[i], nullptr);
}

int64_t PosixPlaybackIo::NowNs() { return MonotonicNs(); }

std::optional<char> PosixPlaybackIo::WaitKey(int64_t deadline_ns) {
  if (!keys_) {
    if (deadline_ns == kForever) return std::nullopt;
    struct timespec ts;
    ts.tv_sec = deadline_ns / 1'000'000'000;
    ts.tv_nsec = deadline_ns % 1'000'000'000;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    return std::nullopt;
  }
  while (true) {
    struct timespec timeout;
    struct timespec* timeout_p = nullptr;
    if (deadline_ns != kForever) {
      const int64_t left = deadline_ns - MonotonicNs();
      if (left <= 0) return std::nullopt;
      timeout.tv_sec = left / 1'000'000'000;
      timeout.tv_nsec = left % 1'000'000'000;
      timeout_p = &timeout;
    }
    struct pollfd pfd {
      in_fd_, POLLIN, 0
    };
    int n = ppoll(&pfd, 1, timeout_p, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (deadline_ns == kForever) return std::nullopt;
      continue;  // re-check the deadline (ppoll may return a little early)
    }
    char c;
    ssize_t r = read(in_fd_, &c, 1);
    if (r == 1) return c;
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
      keys_ = false;  // the keyboard is gone: play on without keys
      return WaitKey(deadline_ns);
    }
  }
}

Status PosixPlaybackIo::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(out_fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("writing to the terminal: {}", ErrnoText(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace podtape::player
