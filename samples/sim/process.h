// Starting the local processes that stand in for container processes: plain pipes, or a PTY.
// POSIX only; no Asio or Beast here (the server wraps the returned descriptors).
#ifndef PODTAPE_SAMPLES_SIM_PROCESS_H_
#define PODTAPE_SAMPLES_SIM_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "recorder/channel_codec.h"
#include "schema/status.h"

namespace podtape::sim {

struct SpawnOptions {
  std::vector<std::string> argv;  // run as is (execvp: no shell); argv[0] looked up on PATH
  std::string cwd;
  std::map<std::string, std::string> env;  // added to a minimal base environment
  bool tty = false;                        // one PTY for stdin, stdout and stderr
  codec::TerminalSize size{80, 24};        // initial PTY size (tty only)
  bool want_stdin = false;                 // otherwise stdin is /dev/null
  bool want_stdout = false;                // otherwise /dev/null (ignored with tty)
  bool want_stderr = false;                // otherwise /dev/null (ignored with tty)
};

// The parent's ends, each close-on-exec and owned by the caller (-1 when absent). With a tty,
// stdout_fd is the PTY master and stdin_fd a dup of it (so each can be owned separately).
struct Child {
  pid_t pid = -1;  // also the process group id: the child runs in its own session
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// Forks and execs. An exec failure (no such file, not executable) is reported here as an error
// whose message is the container runtime's wording; the failed child has then been reaped.
Result<Child> Spawn(const SpawnOptions& options);

// SIGKILL to the child's whole process group. Safe on an already exited (unreaped) child.
void KillProcessGroup(pid_t pid);

// Applies a size to a PTY (TIOCSWINSZ); the foreground process gets SIGWINCH.
void SetWindowSize(int pty_fd, codec::TerminalSize size);

// Exit code as a shell reports it: the status for a normal exit, 128+N for signal N.
int ExitCodeFromWaitStatus(int wait_status);

}  // namespace podtape::sim

#endif  // PODTAPE_SAMPLES_SIM_PROCESS_H_
