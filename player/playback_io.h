// The real PlaybackIo: CLOCK_MONOTONIC, keys from a terminal in raw mode, writes to a descriptor.
//
// Raw mode is left by the destructor and, when the process is ended by SIGINT, SIGTERM, SIGHUP or
// SIGQUIT, by a signal handler that restores the saved mode before the signal takes its default
// action, so the terminal is restored on every way out. One instance per process at a time.
#ifndef PODTAPE_PLAYER_PLAYBACK_IO_H_
#define PODTAPE_PLAYER_PLAYBACK_IO_H_

#include <memory>
#include <optional>

#include "player/replay.h"

namespace podtape::player {

class PosixPlaybackIo : public PlaybackIo {
 public:
  // Keys are read from `in_fd` only when `keys` is true and it is a terminal (then put in raw
  // mode); output goes to `out_fd`.
  static Result<std::unique_ptr<PosixPlaybackIo>> Create(int in_fd, int out_fd, bool keys);
  ~PosixPlaybackIo() override;
  PosixPlaybackIo(const PosixPlaybackIo&) = delete;
  PosixPlaybackIo& operator=(const PosixPlaybackIo&) = delete;

  int64_t NowNs() override;
  std::optional<char> WaitKey(int64_t deadline_ns) override;
  Status Write(std::string_view bytes) override;
  bool keys() const { return keys_; }

 private:
  PosixPlaybackIo(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {}
  int in_fd_;
  int out_fd_;
  bool keys_ = false;  // keys are read (false again once the keyboard is gone)
  bool raw_ = false;   // the terminal is in raw mode and must be restored
};

// The size of the terminal on `fd`; false when it is not a terminal.
bool TerminalSize(int fd, int* cols, int* rows);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_PLAYBACK_IO_H_
