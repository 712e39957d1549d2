// Shared helpers for the GoogleTest binary: temporary folders, files, child processes.
// Every child process a test starts is ended by the test (by its PID) before it returns.
#ifndef PODTAPE_TESTS_TEST_UTIL_H_
#define PODTAPE_TESTS_TEST_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace podtape::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

struct RunResult {
  int exit_code = -1;  // the process's exit status; 128+N when killed by signal N
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr
  bool timed_out = false;
};

struct RunOptions {
  std::string stdin_data;                     // written to the child's stdin, then closed
  std::map<std::string, std::string> env;     // added to (or replacing in) the environment
  std::vector<std::string> unset_env;         // removed from the environment
  std::string cwd;                            // working directory; empty = inherit
  std::chrono::milliseconds timeout{120000};  // the child is killed (SIGKILL) past this
};

// Runs argv[0] (looked up on PATH) with pipes for stdin, stdout and stderr.
RunResult Run(const std::vector<std::string>& argv, const RunOptions& options = {});

// A server started in the background (podtape-sim, podtape proxy). Start() waits for its first
// stdout line "listening on URL" and returns the URL. Stop() (and the destructor) sends SIGTERM,
// then SIGKILL after 5 s, and reaps it. Only this process is signalled, by its PID.
class Server {
 public:
  Server() = default;
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Empty on failure; then error() says why (including what the server printed).
  std::string Start(const std::vector<std::string>& argv, const RunOptions& options = {});
  void Stop();
  pid_t pid() const { return pid_; }
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }
  // Everything the server wrote to stderr so far (it goes to a file).
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  std::string url_;
  std::string error_;
  std::string stderr_path_;
  int stdout_fd_ = -1;
};

// A child process started in the background with its stdout and stderr collected (a reader
// thread each), for tests that must act while it runs: wait for some output, signal it, wait for
// its end. The destructor sends SIGKILL (by PID) and reaps it if it is still running.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Starts argv (looked up on PATH); stdin is /dev/null. False when fork/pipes fail.
  bool Start(const std::vector<std::string>& argv, const RunOptions& options = {});
  // Waits until stdout contains `text`, or the process closes stdout, or `timeout`. True if found.
  bool WaitForStdout(const std::string& text, std::chrono::milliseconds timeout);
  void Signal(int signo);  // to this process only
  // Waits for the exit (bounded) and for both output streams to close; the exit code as in
  // RunResult (128+N when killed by signal N), or -1 when still running after `timeout` (then it
  // is killed with SIGKILL and reaped).
  int Wait(std::chrono::milliseconds timeout);
  std::string Stdout() const;
  std::string Stderr() const;
  pid_t pid() const { return pid_; }

  struct Streams;  // test_util.cc

 private:
  pid_t pid_ = -1;
  std::shared_ptr<Streams> streams_;
};

// The folder of the real kubectl binary behind `kubectl` on the PATH (where kubectl.1.27 ...
// kubectl.1.33 live); empty if kubectl is not installed.
std::string KubectlDir();

}  // namespace podtape::testing

#endif  // PODTAPE_TESTS_TEST_UTIL_H_
