#include "recorder/request_path.h"

#include <gtest/gtest.h>

#include "test_util.h"

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

#ifdef PODTAPE_SIM_BINARY
// The real kubectl (v1.32 on the PATH) against podtape-sim writes exactly our query: its -v=6
// log names the upgrade request's URL.
TEST(RequestPathKubectl, QueryMatchesKubectlOnTheWire) {
  podtape::testing::TempDir dir;
  podtape::testing::Server sim;
  const std::string url =
      sim.Start({PODTAPE_SIM_BINARY, "--config", PODTAPE_SOURCE_DIR "/samples/cluster.yaml",
                 "--listen", "127.0.0.1:0"});
  ASSERT_FALSE(url.empty()) << sim.error();
  struct Case {
    std::vector<std::string> kubectl_flags;
    StreamRequest request;
  };
  StreamRequest odd =
      Exec({"/bin/echo", "", "h\xC3\xA9llo w\xC3\xB6rld", "a=b&c+d", "~x-y_z.", "100%", "\"'#?"},
           "main");
  odd.pod = "demo";
  StreamRequest with_stdin = Exec({"sh", "-c", "echo a b; exit 3"}, "main");
  with_stdin.pod = "demo";
  with_stdin.use_stdin = true;
  const Case cases[] = {{{"-c", "main"}, odd}, {{"-i", "-c", "main"}, with_stdin}};
  for (const Case& c : cases) {
    std::vector<std::string> argv = {"kubectl",         "-s",   url,    "--cache-dir",
                                     dir.File("cache"), "-v=6", "exec", "demo"};
    argv.insert(argv.end(), c.kubectl_flags.begin(), c.kubectl_flags.end());
    argv.push_back("--");
    argv.insert(argv.end(), c.request.command.begin(), c.request.command.end());
    podtape::testing::RunOptions options;
    options.env = {{"HOME", dir.path()}};
    options.unset_env = {"KUBECONFIG", "KUBECTL_REMOTE_COMMAND_WEBSOCKETS"};
    options.timeout = std::chrono::seconds(60);
    podtape::testing::RunResult r = podtape::testing::Run(argv, options);
    ASSERT_FALSE(r.timed_out) << r.err;
    const std::string expected = "GET " + url + StreamRequestTarget("", c.request) + " 101 ";
    EXPECT_NE(r.err.find(expected), std::string::npos)
        << "expected: " << expected << "\nkubectl said:\n"
        << r.err;
  }
}
#endif

}  // namespace
}  // namespace podtape::kube
