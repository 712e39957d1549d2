// The record pipeline without a socket, a terminal or a clock: fakes for each.
#include <signal.h>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "recorder/record_session.h"

namespace podtape::recorder {
namespace {

using codec::Subprotocol;
using store::Direction;

struct Frame {
  int64_t t_ns;
  Direction direction;
  uint8_t channel;
  std::string payload;
};

class FakeSink : public FrameSink {
 public:
  Status Append(int64_t t_ns, Direction d, uint8_t ch, std::string_view p) override {
    if (fail) return Status::IOError("disk full");
    frames.push_back({t_ns, d, ch, std::string(p)});
    return Status::OK();
  }
  std::vector<Frame> frames;
  bool fail = false;
};

class FakeOutput : public OutputSink {
 public:
  void Write(uint8_t channel, std::string_view data) override {
    (channel == codec::kStderr ? err : out).append(data);
  }
  std::string out, err;
};

class FakeTerminal : public Terminal {
 public:
  bool IsTerminal() const override { return true; }
  std::optional<codec::TerminalSize> Size() const override { return size; }
  std::string TermType() const override { return "xterm"; }
  Status EnterRaw() override { return Status::OK(); }
  void Restore() override {}
  std::optional<codec::TerminalSize> size;
};

struct Sent {
  bool text;
  std::string data;
};

class PipelineTest : public ::testing::Test {
 protected:
  RecordPipeline Make(Subprotocol p, Terminal* term = nullptr) {
    RecordPipeline::Deps d;
    d.frames = &sink_;
    d.output = &out_;
    d.terminal = term;
    d.send = [this](bool text, std::string_view m) { sent_.push_back({text, std::string(m)}); };
    d.close = [this] { ++closes_; };
    d.clock = [this] { return now_ += 1000; };
    return RecordPipeline(p, std::move(d));
  }
  FakeSink sink_;
  FakeOutput out_;
  std::vector<Sent> sent_;
  int closes_ = 0;
  int64_t now_ = 0;
};

TEST_F(PipelineTest, RecordsAndShowsServerOutputInOrder) {
  RecordPipeline p = Make(Subprotocol::kV5);
  ASSERT_TRUE(p.OnMessage(false, std::string("\x01", 1)).ok());  // ready frame
  ASSERT_TRUE(p.OnMessage(false, "\x01hello ").ok());
  ASSERT_TRUE(p.OnMessage(false, "\x02oops").ok());
  ASSERT_TRUE(p.OnMessage(false, "\x01world").ok());
  ASSERT_TRUE(p.OnMessage(false, "\x03{\"metadata\":{},\"status\":\"Success\"}").ok());
  EXPECT_EQ(out_.out, "hello world");
  EXPECT_EQ(out_.err, "oops");
  ASSERT_EQ(sink_.frames.size(), 5u);
  EXPECT_EQ(sink_.frames[0].channel, 1);
  EXPECT_EQ(sink_.frames[0].payload, "");
  EXPECT_EQ(sink_.frames[2].channel, 2);
  EXPECT_EQ(sink_.frames[4].channel, 3);
  for (size_t i = 0; i < sink_.frames.size(); ++i) {
    EXPECT_EQ(sink_.frames[i].direction, Direction::kFromServer);
    EXPECT_EQ(sink_.frames[i].t_ns, static_cast<int64_t>(1000 * (i + 1)));
  }
  EXPECT_EQ(p.raw_status(), "{\"metadata\":{},\"status\":\"Success\"}");
  EXPECT_TRUE(p.got_status());
}

TEST_F(PipelineTest, StatusSplitAcrossFramesIsJoined) {
  RecordPipeline p = Make(Subprotocol::kV4);
  ASSERT_TRUE(p.OnMessage(false, "\x03{\"metadata\":{},").ok());
  ASSERT_TRUE(p.OnMessage(false, "\x03\"status\":\"Success\"}").ok());
  auto st = codec::ParseStatus(Subprotocol::kV4, p.raw_status());
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->kind, codec::RemoteStatus::Kind::kSuccess);
}

TEST_F(PipelineTest, StdinIsRecordedThenSentEncoded) {
  RecordPipeline p = Make(Subprotocol::kV4Base64);
  ASSERT_TRUE(p.OnInput("foo\n", false).ok());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_TRUE(sent_[0].text);
  EXPECT_EQ(sent_[0].data, "0Zm9vCg==");
  ASSERT_EQ(sink_.frames.size(), 1u);
  EXPECT_EQ(sink_.frames[0].direction, Direction::kToServer);
  EXPECT_EQ(sink_.frames[0].channel, 0);
  EXPECT_EQ(sink_.frames[0].payload, "foo\n");  // the decoded bytes, not the wire form
}

TEST_F(PipelineTest, Base64OutputIsDecodedBeforeRecording) {
  RecordPipeline p = Make(Subprotocol::kV1Base64);
  ASSERT_TRUE(p.OnMessage(true, "1").ok());
  ASSERT_TRUE(p.OnMessage(true, "1aGk=").ok());
  EXPECT_EQ(out_.out, "hi");
  ASSERT_EQ(sink_.frames.size(), 2u);
  EXPECT_EQ(sink_.frames[1].payload, "hi");
}

TEST_F(PipelineTest, V5StdinEofSendsCloseSignalOnce) {
  RecordPipeline p = Make(Subprotocol::kV5);
  ASSERT_TRUE(p.OnInput("", true).ok());
  ASSERT_TRUE(p.OnInput("", true).ok());
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].data, std::string("\xff\x00", 2));
  EXPECT_FALSE(sent_[0].text);
  ASSERT_EQ(sink_.frames.size(), 1u);
  EXPECT_EQ(sink_.frames[0].channel, 255);
  EXPECT_EQ(sink_.frames[0].payload, std::string("\x00", 1));
  EXPECT_EQ(closes_, 0);
}

TEST_F(PipelineTest, V4StdinEofClosesTheWebSocketAndSendsNoCloseSignal) {
  RecordPipeline p = Make(Subprotocol::kV4);
  ASSERT_TRUE(p.OnInput("", true).ok());
  EXPECT_TRUE(sent_.empty());
  EXPECT_TRUE(sink_.frames.empty());
  EXPECT_EQ(closes_, 1);
}

TEST_F(PipelineTest, ResizeOnWinchOnlyWhenTheSizeChanged) {
  FakeTerminal term;
  term.size = codec::TerminalSize{80, 24};
  RecordPipeline p = Make(Subprotocol::kV5, &term);
  ASSERT_TRUE(p.SendResize({80, 24}).ok());
  ASSERT_TRUE(p.OnSignal(SIGWINCH).ok());  // same size: nothing
  term.size = codec::TerminalSize{100, 30};
  ASSERT_TRUE(p.OnSignal(SIGWINCH).ok());
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[0].data, "\x04{\"Width\":80,\"Height\":24}\n");
  EXPECT_EQ(sent_[1].data, "\x04{\"Width\":100,\"Height\":30}\n");
  ASSERT_EQ(sink_.frames.size(), 2u);
  EXPECT_EQ(sink_.frames[1].channel, 4);
  EXPECT_EQ(sink_.frames[1].payload, "{\"Width\":100,\"Height\":30}\n");
}

TEST_F(PipelineTest, TerminatingSignalsEndTheSession) {
  RecordPipeline p = Make(Subprotocol::kV5);
  Status st = p.OnSignal(SIGTERM);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "interrupted by SIGTERM");
}

TEST_F(PipelineTest, TextFrameOnBinaryProtocolIsRecordedRawAndEndsTheSession) {
  RecordPipeline p = Make(Subprotocol::kV5);
  Status st = p.OnMessage(true, "1aGk=");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kProtocol);
  EXPECT_NE(st.message().find("text frame on binary protocol"), std::string::npos) << st.message();
  ASSERT_EQ(sink_.frames.size(), 1u);
  EXPECT_EQ(sink_.frames[0].channel, 255);
  EXPECT_EQ(sink_.frames[0].payload, "1aGk=");
  EXPECT_EQ(out_.out, "");
}

TEST_F(PipelineTest, UnknownChannelEndsTheSession) {
  RecordPipeline p = Make(Subprotocol::kV4);
  Status st = p.OnMessage(false, "\x09xyz");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unknown channel 9"), std::string::npos) << st.message();
}

TEST_F(PipelineTest, RecordingFailureFailsClosed) {
  RecordPipeline p = Make(Subprotocol::kV5);
  sink_.fail = true;
  EXPECT_FALSE(p.OnMessage(false, "\x01hi").ok());
  EXPECT_EQ(out_.out, "");  // nothing is shown that was not recorded
  EXPECT_FALSE(p.OnInput("ls\n", false).ok());
  EXPECT_TRUE(sent_.empty());  // nothing is sent that was not recorded
}

TEST(ChooseContainerTest, AnnotationWinsSilently) {
  std::string notice;
  auto c = ChooseContainer(
      R"({"metadata":{"name":"p","annotations":{"kubectl.kubernetes.io/default-container":"c2"}},
          "spec":{"containers":[{"name":"c1"},{"name":"c2"}]},"status":{"phase":"Running"}})",
      kube::Subresource::kExec, &notice);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "c2");
  EXPECT_EQ(notice, "");
}

TEST(ChooseContainerTest, FirstContainerWithKubectlsNotice) {
  std::string notice;
  auto c = ChooseContainer(
      R"({"metadata":{"name":"p"},"spec":{"containers":[{"name":"c1"},{"name":"c2"}],
          "initContainers":[{"name":"i1"}]},"status":{"phase":"Running"}})",
      kube::Subresource::kExec, &notice);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "c1");
  EXPECT_EQ(notice, "Defaulted container \"c1\" out of: c1, c2, i1 (init)");
}

TEST(ChooseContainerTest, SingleContainerNoNotice) {
  std::string notice = "x";
  auto c = ChooseContainer(R"({"spec":{"containers":[{"name":"only"}]}})",
                           kube::Subresource::kAttach, &notice);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, "only");
  EXPECT_EQ(notice, "");
}

TEST(ChooseContainerTest, CompletedPodIsRefusedAsKubectlDoes) {
  std::string notice;
  auto c =
      ChooseContainer(R"({"spec":{"containers":[{"name":"c"}]},"status":{"phase":"Succeeded"}})",
                      kube::Subresource::kExec, &notice);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "cannot exec into a container in a completed pod; current phase is Succeeded");
  c = ChooseContainer(R"({"spec":{"containers":[{"name":"c"}]},"status":{"phase":"Failed"}})",
                      kube::Subresource::kAttach, &notice);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "cannot attach a container in a completed pod; current phase is Failed");
}

TEST(SelfSubjectReviewTest, ParsesUserInfo) {
  auto id = ParseSelfSubjectReview(
      R"({"kind":"SelfSubjectReview","status":{"userInfo":{"username":"alice",
          "groups":["dev","system:authenticated"]}}})");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->user, "alice");
  EXPECT_EQ(id->groups, (std::vector<std::string>{"dev", "system:authenticated"}));
  EXPECT_FALSE(ParseSelfSubjectReview(R"({"status":{}})").has_value());
  EXPECT_FALSE(ParseSelfSubjectReview("not json").has_value());
}

}  // namespace
}  // namespace podtape::recorder

namespace podtape::recorder {
namespace {

TEST(ContainerTtyTest, ReadsTheContainersSpec) {
  const char* pod = R"({"spec":{"containers":[{"name":"a","tty":true},{"name":"b"}],
      "initContainers":[{"name":"i","tty":false}],"ephemeralContainers":[{"name":"e","tty":true}]}})";
  EXPECT_EQ(ContainerTty(pod, "a"), std::optional<bool>(true));
  EXPECT_EQ(ContainerTty(pod, "b"), std::optional<bool>(false));
  EXPECT_EQ(ContainerTty(pod, "i"), std::optional<bool>(false));
  EXPECT_EQ(ContainerTty(pod, "e"), std::optional<bool>(true));
  EXPECT_EQ(ContainerTty(pod, "zz"), std::nullopt);
  EXPECT_EQ(ContainerTty("not json", "a"), std::nullopt);
  EXPECT_EQ(ContainerTty("", "a"), std::nullopt);
}

TEST(RedactHeaderValueTest, MasksCredentialsAsKubectl) {
  EXPECT_EQ(RedactHeaderValue("Authorization", "Bearer alice-token"), "Bearer <masked>");
  EXPECT_EQ(RedactHeaderValue("authorization", "Basic YWxpY2U6cHc="), "Basic <masked>");
  EXPECT_EQ(RedactHeaderValue("Authorization", "opaque-secret"), "<masked>");
  EXPECT_EQ(RedactHeaderValue("Proxy-Authorization", "Bearer x"), "Bearer <masked>");
  EXPECT_EQ(RedactHeaderValue("Sec-WebSocket-Protocol",
                              "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0,"
                              "v4.channel.k8s.io"),
            "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.<masked>,v4.channel.k8s.io");
  EXPECT_EQ(RedactHeaderValue("Impersonate-User", "bob"), "bob");
  EXPECT_EQ(RedactHeaderValue("User-Agent", "podtape/0.1.0"), "podtape/0.1.0");
}

}  // namespace
}  // namespace podtape::recorder
