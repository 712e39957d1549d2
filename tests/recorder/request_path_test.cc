#include "recorder/request_path.h"

#include <gtest/gtest.h>

namespace podtape::kube {
namespace {

StreamRequest Exec(std::vector<std::string> command, std::string container = "c1") {
  StreamRequest r;
  r.subresource = Subresource::kExec;
  r.namespace_ = "default";
  r.pod = "mypod";
  r.container = std::move(container);
  r.command = std::move(command);
  return r;
}

// kubectl exec -i mypod -c c1 -- sh -c 'echo a b; exit 3' (PROTOCOL.md 4.2).
TEST(RequestPath, ExecWithStdinMatchesKubectl) {
  StreamRequest r = Exec({"sh", "-c", "echo a b; exit 3"});
  r.use_stdin = true;
  EXPECT_EQ(StreamRequestTarget("", r),
            "/api/v1/namespaces/default/pods/mypod/exec?command=sh&command=-c&command=echo+a+b%3B+"
            "exit+3&container=c1&stderr=true&stdin=true&stdout=true");
}

// kubectl exec -it mypod -- sh: no stderr with a TTY.
TEST(RequestPath, ExecWithTtyOmitsStderr) {
  StreamRequest r = Exec({"sh"});
  r.use_stdin = true;
  r.tty = true;
  r.use_stderr = false;
  EXPECT_EQ(StreamRequestQuery(r), "command=sh&container=c1&stdin=true&stdout=true&tty=true");
}

TEST(RequestPath, AttachMatchesKubectl) {
  StreamRequest r;
  r.subresource = Subresource::kAttach;
  r.namespace_ = "default";
  r.pod = "mypod";
  r.container = "c1";
  r.command = {"ignored"};  // attach has no command
  EXPECT_EQ(StreamRequestTarget("", r),
            "/api/v1/namespaces/default/pods/mypod/attach?container=c1&stderr=true&stdout=true");
  r.use_stdin = true;
  EXPECT_EQ(StreamRequestQuery(r), "container=c1&stderr=true&stdin=true&stdout=true");
  r.container = "c2";
  r.tty = true;
  r.use_stderr = false;
  EXPECT_EQ(StreamRequestQuery(r), "container=c2&stdin=true&stdout=true&tty=true");
}

// Go's url.QueryEscape: '/' and every reserved or non-ASCII byte percent-encoded (upper-case
// hex), unreserved "-_.~" kept, an empty argument kept as an empty value in argv order.
TEST(RequestPath, EncodesSlashesNonAsciiAndEmptyArguments) {
  StreamRequest r = Exec(
      {"/bin/echo", "", "h\xC3\xA9llo w\xC3\xB6rld", "a=b&c+d", "~x-y_z.", "100%", "\"'#?"}, "");
  EXPECT_EQ(StreamRequestQuery(r),
            "command=%2Fbin%2Fecho&command=&command=h%C3%A9llo+w%C3%B6rld&command=a%3Db%26c%2Bd&"
            "command=~x-y_z.&command=100%25&command=%22%27%23%3F&stderr=true&stdout=true");
}

TEST(RequestPath, OnlyTrueBooleansAreWritten) {
  StreamRequest r = Exec({"ls"});
  r.use_stdout = false;
  r.use_stderr = false;
  EXPECT_EQ(StreamRequestQuery(r), "command=ls&container=c1");
}

TEST(RequestPath, PrefixAndPodPath) {
  EXPECT_EQ(PodPath("/k8s/clusters/c-1", "kube-system", "web-0"),
            "/k8s/clusters/c-1/api/v1/namespaces/kube-system/pods/web-0");
  StreamRequest r = Exec({"ls"});
  EXPECT_EQ(StreamRequestTarget("/prefix", r),
            "/prefix/api/v1/namespaces/default/pods/mypod/exec?command=ls&container=c1&stderr=true&"
            "stdout=true");
  // Segments are path-escaped.
  EXPECT_EQ(PodPath("", "a b", "p/q"), "/api/v1/namespaces/a%20b/pods/p%2Fq");
}

TEST(RequestPath, NoParametersMeansNoQuestionMark) {
  StreamRequest r = Exec({}, "");
  r.subresource = Subresource::kAttach;
  r.use_stdout = false;
  r.use_stderr = false;
  EXPECT_EQ(StreamRequestTarget("", r), "/api/v1/namespaces/default/pods/mypod/attach");
}

}  // namespace
}  // namespace podtape::kube
