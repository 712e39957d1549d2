// API request targets (path + query) exactly as kubectl writes them (PROTOCOL.md 4.2): the query
// is Go's url.Values.Encode(): keys sorted, repeated `command` in argv order, form encoding
// (space -> '+', everything but unreserved characters percent-encoded), booleans written only
// when true, as "true".
#ifndef PODTAPE_RECORDER_REQUEST_PATH_H_
#define PODTAPE_RECORDER_REQUEST_PATH_H_

#include <string>
#include <string_view>
#include <vector>

namespace podtape::kube {

enum class Subresource { kExec, kAttach };

// One pods/exec or pods/attach request. Field names avoid stdin/stdout/stderr (C macros).
struct StreamRequest {
  Subresource subresource = Subresource::kExec;
  std::string namespace_;
  std::string pod;
  std::string container;             // omitted from the query when empty
  std::vector<std::string> command;  // exec only; ignored for attach
  bool use_stdin = false;
  bool use_stdout = true;
  bool use_stderr = true;  // kubectl sends false (omits it) with tty
  bool tty = false;
};

// "PREFIX/api/v1/namespaces/NS/pods/POD" (path segments percent-encoded). path_prefix is
// Connection::path_prefix ("" or "/x/y", no trailing '/').
std::string PodPath(std::string_view path_prefix, std::string_view namespace_,
                    std::string_view pod);

// "PREFIX/api/v1/namespaces/NS/pods/POD/exec?command=sh&container=c1&stdin=true&..." as kubectl
// writes it. The caller decides use_stderr (false with tty, as kubectl does).
std::string StreamRequestTarget(std::string_view path_prefix, const StreamRequest& request);

// Just the query, without '?': exposed for tests and logs.
std::string StreamRequestQuery(const StreamRequest& request);

}  // namespace podtape::kube

#endif  // PODTAPE_RECORDER_REQUEST_PATH_H_
