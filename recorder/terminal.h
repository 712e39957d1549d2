// The local terminal as the recorder sees it: is stdin a terminal, its size, raw mode.
// An interface so the record pipeline can be tested with a fake (no terminal, scripted sizes).
//
// Raw mode is restored by Restore(), by the destructor, and by RestoreTerminalNow() which is
// async-signal-safe (for a handler of a fatal signal). Threads: one owner thread; only
// RestoreTerminalNow() may be called from a signal handler or another thread.
#ifndef PODTAPE_RECORDER_TERMINAL_H_
#define PODTAPE_RECORDER_TERMINAL_H_

#include <memory>
#include <optional>
#include <string>

#include "recorder/channel_codec.h"
#include "schema/status.h"

namespace podtape::recorder {

class Terminal {
 public:
  virtual ~Terminal() = default;
  // True when the input is a terminal (kubectl's test for -t).
  virtual bool IsTerminal() const = 0;
  // The size of the terminal (columns x rows); nullopt when not a terminal or unknown.
  virtual std::optional<codec::TerminalSize> Size() const = 0;
  // $TERM, empty when unset.
  virtual std::string TermType() const = 0;
  // Puts the input terminal in raw mode (as kubectl's term.MakeRaw). Idempotent.
  virtual Status EnterRaw() = 0;
  // Restores the mode saved by EnterRaw(). Idempotent; a no-op when not raw.
  virtual void Restore() = 0;
};

// The process's terminal: input `in_fd` (mode, TTY test), size from `in_fd`, else `out_fd`.
std::unique_ptr<Terminal> MakePosixTerminal(int in_fd = 0, int out_fd = 1);

// Restores the mode of the terminal currently in raw mode, if any. Async-signal-safe.
void RestoreTerminalNow();

}  // namespace podtape::recorder

#endif  // PODTAPE_RECORDER_TERMINAL_H_
