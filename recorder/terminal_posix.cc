#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "recorder/terminal.h"

namespace podtape::recorder {
namespace {

// The one terminal in raw mode, for RestoreTerminalNow(): written before raw mode is entered,
// read from signal handlers. -1 when no terminal is raw.
std::atomic<int> g_raw_fd{-1};
struct termios g_saved;

class PosixTerminal final : public Terminal {
 public:
  PosixTerminal(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {}
  ~PosixTerminal() override { Restore(); }

  bool IsTerminal() const override { return isatty(in_fd_) == 1; }

  std::optional<codec::TerminalSize> Size() const override {
    for (int fd : {in_fd_, out_fd_}) {
      struct winsize ws {};
      if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        return codec::TerminalSize{ws.ws_col, ws.ws_row};
      }
    }
    return std::nullopt;
  }

  std::string TermType() const override {
    const char* t = std::getenv("TERM");
    return t != nullptr ? t : "";
  }

  Status EnterRaw() override {
    if (raw_) return Status::OK();
    struct termios saved {};
    if (tcgetattr(in_fd_, &saved) != 0) {
      return Status::IOError(std::string("cannot read the terminal mode: ") + std::strerror(errno));
    }
    struct termios raw = saved;
    // What Go's x/term MakeRaw does (kubectl's raw mode).
    raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_oflag &= ~OPOST;
    raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    g_saved = saved;
    g_raw_fd.store(in_fd_);
    if (tcsetattr(in_fd_, TCSANOW, &raw) != 0) {
      g_raw_fd.store(-1);
      return Status::IOError(std::string("cannot put the terminal in raw mode: ") +
                             std::strerror(errno));
    }
    raw_ = true;
    return Status::OK();
  }

  void Restore() override {
    if (!raw_) return;
    raw_ = false;
    RestoreTerminalNow();
  }

 private:
  int in_fd_;
  int out_fd_;
  bool raw_ = false;
};

}  // namespace

void RestoreTerminalNow() {
  int fd = g_raw_fd.exchange(-1);
  if (fd >= 0) tcsetattr(fd, TCSANOW, &g_saved);
}

std::unique_ptr<Terminal> MakePosixTerminal(int in_fd, int out_fd) {
  return std::make_unique<PosixTerminal>(in_fd, out_fd);
}

}  // namespace podtape::recorder
