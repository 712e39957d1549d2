// Tests of recorder/channel_codec: literal bytes in, fields and exact error texts out. The byte
// examples come from ../shared/PROTOCOL.md (sections 2-3 and the conformance list of section 8).
#include "recorder/channel_codec.h"

#include <openssl/evp.h>

#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace podtape::codec {
namespace {

using std::string_literals::operator""s;
using ::testing::ElementsAre;

constexpr Subprotocol kAllProtocols[] = {Subprotocol::kNone,     Subprotocol::kV1,
                                         Subprotocol::kV1Base64, Subprotocol::kV4,
                                         Subprotocol::kV4Base64, Subprotocol::kV5};

// Decodes or fails the test; returns (channel, payload copied out of the scratch).
struct Decoded {
  uint8_t channel;
  std::string payload;
};
Decoded MustDecode(Subprotocol p, Sender sender, FrameType type, std::string_view message) {
  std::string scratch;
  DecodedMessage out;
  Status st = DecodeMessage(p, sender, type, message, &scratch, &out);
  EXPECT_TRUE(st.ok()) << st.message();
  return {out.channel, std::string(out.payload)};
}

// The error text DecodeMessage gives, or "ok".
std::string DecodeError(Subprotocol p, Sender sender, FrameType type, std::string_view message) {
  std::string scratch;
  DecodedMessage out;
  Status st = DecodeMessage(p, sender, type, message, &scratch, &out);
  if (st.ok()) return "ok";
  EXPECT_EQ(st.code(), Status::Code::kProtocol);
  return st.message();
}

std::string Encode(Subprotocol p, uint8_t channel, std::string_view payload) {
  std::string out;
  EncodeMessage(p, channel, payload, &out);
  return out;
}

// --- subprotocol names and negotiation (PROTOCOL.md 1.1, 1.2; section 8 cases 1-7) ---

TEST(ChannelCodecSubprotocol, NamesRoundTrip) {
  EXPECT_EQ(SubprotocolName(Subprotocol::kNone), "");
  EXPECT_EQ(SubprotocolName(Subprotocol::kV1), "channel.k8s.io");
  EXPECT_EQ(SubprotocolName(Subprotocol::kV1Base64), "base64.channel.k8s.io");
  EXPECT_EQ(SubprotocolName(Subprotocol::kV4), "v4.channel.k8s.io");
  EXPECT_EQ(SubprotocolName(Subprotocol::kV4Base64), "v4.base64.channel.k8s.io");
  EXPECT_EQ(SubprotocolName(Subprotocol::kV5), "v5.channel.k8s.io");
  for (Subprotocol p : kAllProtocols) EXPECT_EQ(ParseSubprotocol(SubprotocolName(p)), p);
  EXPECT_EQ(ParseSubprotocol("V5.channel.k8s.io"), std::nullopt);  // exact match only
  EXPECT_EQ(ParseSubprotocol(" v5.channel.k8s.io"), std::nullopt);
  EXPECT_EQ(ParseSubprotocol("v2.channel.k8s.io"), std::nullopt);  // SPDY only
  EXPECT_EQ(ParseSubprotocol("v3.channel.k8s.io"), std::nullopt);
  EXPECT_EQ(ParseSubprotocol("v5.base64.channel.k8s.io"), std::nullopt);  // does not exist
  EXPECT_EQ(ParseSubprotocol("base64url.bearer.authorization.k8s.io.dG9rZW4"), std::nullopt);
}

TEST(ChannelCodecSubprotocol, Properties) {
  struct Row {
    Subprotocol p;
    bool base64, json_status, close;
  };
  const Row rows[] = {
      {Subprotocol::kNone, false, false, false},    {Subprotocol::kV1, false, false, false},
      {Subprotocol::kV1Base64, true, false, false}, {Subprotocol::kV4, false, true, false},
      {Subprotocol::kV4Base64, true, true, false},  {Subprotocol::kV5, false, true, true},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(SubprotocolName(r.p));
    EXPECT_EQ(IsBase64(r.p), r.base64);
    EXPECT_EQ(HasJsonStatus(r.p), r.json_status);
    EXPECT_EQ(HasCloseSignal(r.p), r.close);
    EXPECT_EQ(FrameTypeFor(r.p), r.base64 ? FrameType::kText : FrameType::kBinary);
  }
}

TEST(ChannelCodecSubprotocol, DefaultOfferIsOneCommaJoinedHeader) {
  EXPECT_THAT(DefaultOffer(), ElementsAre(Subprotocol::kV5, Subprotocol::kV4, Subprotocol::kV1));
  EXPECT_EQ(JoinOffer(DefaultOffer()), "v5.channel.k8s.io,v4.channel.k8s.io,channel.k8s.io");
  EXPECT_EQ(JoinOffer({}), "");
  const Subprotocol none_only[] = {Subprotocol::kNone};
  EXPECT_EQ(JoinOffer(none_only), "");
  const Subprotocol base64[] = {Subprotocol::kV4Base64, Subprotocol::kNone, Subprotocol::kV1Base64};
  EXPECT_EQ(JoinOffer(base64), "v4.base64.channel.k8s.io,base64.channel.k8s.io");
}

TEST(ChannelCodecSubprotocol, ParseOfferList) {
  auto r = ParseOfferList(" v5.channel.k8s.io , base64.channel.k8s.io,v4.base64.channel.k8s.io\t");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(*r, ElementsAre(Subprotocol::kV5, Subprotocol::kV1Base64, Subprotocol::kV4Base64));
  auto one = ParseOfferList("channel.k8s.io");
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(*one, ElementsAre(Subprotocol::kV1));
  // Whatever is parsed joins back into the header it came from.
  EXPECT_EQ(JoinOffer(*r), "v5.channel.k8s.io,base64.channel.k8s.io,v4.base64.channel.k8s.io");
}

TEST(ChannelCodecSubprotocol, ParseOfferListErrors) {
  const std::string known =
      "v5.channel.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io, channel.k8s.io, "
      "base64.channel.k8s.io";
  struct Case {
    std::string csv, error;
  };
  const Case cases[] = {
      {"", "empty subprotocol list; name at least one of " + known},
      {"  ", "empty subprotocol list; name at least one of " + known},
      {"v5.channel.k8s.io,,v4.channel.k8s.io",
       "empty entry in subprotocol list \"v5.channel.k8s.io,,v4.channel.k8s.io\""},
      {"v5.channel.k8s.io, ", "empty entry in subprotocol list \"v5.channel.k8s.io, \""},
      {"v5.channel.k8s.io,foo", "unknown subprotocol \"foo\"; use one of " + known},
      {"V4.channel.k8s.io", "unknown subprotocol \"V4.channel.k8s.io\"; use one of " + known},
      {"v3.channel.k8s.io",
       "subprotocol \"v3.channel.k8s.io\" exists only over spdy; use one of " + known},
      {"v4.channel.k8s.io, v4.channel.k8s.io",
       "duplicate subprotocol \"v4.channel.k8s.io\" in subprotocol list"},
      {"v5.channel.k8s.io,base64url.bearer.authorization.k8s.io.c2VjcmV0",
       "bearer-token entries are not accepted in the subprotocol list; pass the token with "
       "--token"},
  };
  for (const Case& c : cases) {
    auto r = ParseOfferList(c.csv);
    ASSERT_FALSE(r.ok()) << c.csv;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.error);
    EXPECT_EQ(r.status().message().find("c2VjcmV0"), std::string::npos);  // never echo a token
  }
}

TEST(ChannelCodecSubprotocol, CheckChosen) {
  const std::vector<Subprotocol> v5_v4 = {Subprotocol::kV5, Subprotocol::kV4};
  // Case 1: offered v5, answered v5.
  auto a = CheckChosen("v5.channel.k8s.io", v5_v4);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, Subprotocol::kV5);
  // Case 2: offered v5, v4; an older server answers v4.
  auto b = CheckChosen("v4.channel.k8s.io", v5_v4);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, Subprotocol::kV4);
  // Case 3: channel.k8s.io when offered; no header only when "no header" was offered.
  const std::vector<Subprotocol> legacy = {Subprotocol::kV1, Subprotocol::kNone};
  EXPECT_EQ(*CheckChosen("channel.k8s.io", legacy), Subprotocol::kV1);
  EXPECT_EQ(*CheckChosen("", legacy), Subprotocol::kNone);
  EXPECT_EQ(*CheckChosen("", {}), Subprotocol::kNone);
  // Case 5: a protocol that was not offered, or none, is a protocol error.
  auto c = CheckChosen("v4.channel.k8s.io", std::vector<Subprotocol>{Subprotocol::kV5});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kProtocol);
  EXPECT_EQ(c.status().message(),
            "server chose subprotocol \"v4.channel.k8s.io\", which was not offered (offered "
            "v5.channel.k8s.io)");
  auto d = CheckChosen("", v5_v4);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "server chose no subprotocol; offered v5.channel.k8s.io,v4.channel.k8s.io");
  auto e = CheckChosen("v2.channel.k8s.io", v5_v4);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "server chose subprotocol \"v2.channel.k8s.io\", which was not offered (offered "
            "v5.channel.k8s.io,v4.channel.k8s.io)");
  auto f = CheckChosen("v5.channel.k8s.io", {});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(),
            "server chose subprotocol \"v5.channel.k8s.io\", which was not offered");
  // A server that echoes a bearer-token entry never gets the token into a message.
  auto g = CheckChosen("base64url.bearer.authorization.k8s.io.c2VjcmV0", v5_v4);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "server chose subprotocol \"base64url.bearer.authorization.k8s.io.<redacted>\", which "
            "was not offered (offered v5.channel.k8s.io,v4.channel.k8s.io)");
  // Control bytes are escaped: the message stays one line.
  auto h = CheckChosen("x\r\ny", v5_v4);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(),
            "server chose subprotocol \"x\\x0d\\x0ay\", which was not offered (offered "
            "v5.channel.k8s.io,v4.channel.k8s.io)");
}

TEST(ChannelCodecSubprotocol, ChooseServerProtocolAsTheRealServers) {
  // The API server's translator takes v5 wherever it is in the list (PROTOCOL.md 1.2).
  EXPECT_EQ(ChooseServerProtocol("v5.channel.k8s.io", true), Subprotocol::kV5);
  EXPECT_EQ(ChooseServerProtocol("v4.channel.k8s.io, v5.channel.k8s.io", true), Subprotocol::kV5);
  EXPECT_EQ(ChooseServerProtocol("channel.k8s.io,v4.channel.k8s.io ,  v5.channel.k8s.io", true),
            Subprotocol::kV5);
  // Without v5 (old server, gate off) the runtime takes the first supported entry in the
  // client's order (case 13: "v5, v4" answers v4).
  EXPECT_EQ(ChooseServerProtocol("v5.channel.k8s.io, v4.channel.k8s.io", false), Subprotocol::kV4);
  EXPECT_EQ(ChooseServerProtocol("v5.channel.k8s.io", false), std::nullopt);  // 403
  EXPECT_EQ(ChooseServerProtocol("base64.channel.k8s.io,channel.k8s.io", false),
            Subprotocol::kV1Base64);
  EXPECT_EQ(ChooseServerProtocol("channel.k8s.io,base64.channel.k8s.io", true), Subprotocol::kV1);
  EXPECT_EQ(ChooseServerProtocol("\tv4.base64.channel.k8s.io\t", true), Subprotocol::kV4Base64);
  // @kubernetes/client-node 2.0.1 offers this list (the ws library joins it with ","); older
  // releases offered v4, v3, v2, channel: v3/v2 exist only over SPDY.
  const char* js_offer =
      "v5.channel.k8s.io,v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io";
  EXPECT_EQ(ChooseServerProtocol(js_offer, true), Subprotocol::kV5);
  EXPECT_EQ(ChooseServerProtocol(js_offer, false), Subprotocol::kV4);
  EXPECT_EQ(ChooseServerProtocol("v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io", false),
            Subprotocol::kV1);
  EXPECT_EQ(ChooseServerProtocol("v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io", true),
            Subprotocol::kV4);
  // No header, or an empty one: the protocol "" (binary, like channel.k8s.io).
  EXPECT_EQ(ChooseServerProtocol("", true), Subprotocol::kNone);
  EXPECT_EQ(ChooseServerProtocol("   ", false), Subprotocol::kNone);
  // An empty entry is the protocol "" and the runtime supports it.
  EXPECT_EQ(ChooseServerProtocol("foo, ,v4.channel.k8s.io", false), Subprotocol::kNone);
  // Bearer-token entries are removed before the choice; they are never chosen.
  EXPECT_EQ(
      ChooseServerProtocol("base64url.bearer.authorization.k8s.io.dG9rZW4,v4.channel.k8s.io", true),
      Subprotocol::kV4);
  EXPECT_EQ(ChooseServerProtocol("base64url.bearer.authorization.k8s.io.dG9rZW4", true),
            std::nullopt);
  EXPECT_EQ(ChooseServerProtocol("foo, bar", true), std::nullopt);
  EXPECT_EQ(ChooseServerProtocol("v5.channel.k8s.io.x, V5.channel.k8s.io", true), std::nullopt);
  EXPECT_EQ(ChooseServerProtocol("v2.channel.k8s.io", true), std::nullopt);
}

// --- bearer token in a subprotocol entry (PROTOCOL.md 6; section 8 cases 37-38) ---

TEST(ChannelCodecBearer, EntryIsRawUrlBase64) {
  EXPECT_EQ(BearerProtocolEntry("testtoken123"),
            "base64url.bearer.authorization.k8s.io.dGVzdHRva2VuMTIz");
  EXPECT_EQ(BearerProtocolEntry("\xfb\xff"), "base64url.bearer.authorization.k8s.io.-_8");
  EXPECT_EQ(BearerProtocolEntry("h\xc3\xa9llo"), "base64url.bearer.authorization.k8s.io.aMOpbGxv");
}

TEST(ChannelCodecBearer, ExtractAsTheApiServer) {
  auto a = ExtractBearerProtocol(BearerProtocolEntry("testtoken123") + ",v5.channel.k8s.io");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->token, "testtoken123");
  EXPECT_EQ(a->filtered, "v5.channel.k8s.io");
  EXPECT_EQ(ChooseServerProtocol(a->filtered, true), Subprotocol::kV5);
  auto b = ExtractBearerProtocol(" v4.channel.k8s.io , " + BearerProtocolEntry("h\xc3\xa9llo") +
                                 " , channel.k8s.io");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->token, "h\xc3\xa9llo");
  EXPECT_EQ(b->filtered, "v4.channel.k8s.io,channel.k8s.io");
  // No entry, or an empty token: no token (the request is not authenticated this way).
  auto c = ExtractBearerProtocol("v5.channel.k8s.io");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, "");
  auto d = ExtractBearerProtocol("base64url.bearer.authorization.k8s.io.");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->token, "");
  // Go's RawURLEncoding is not strict: \r\n skipped, trailing bits ignored.
  auto e = ExtractBearerProtocol("base64url.bearer.authorization.k8s.io.dGVz\r\ndDF,x");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->token, "test1");
  // An empty other entry counts as one, as in Go.
  auto f = ExtractBearerProtocol("base64url.bearer.authorization.k8s.io.dGVzdDE,");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->filtered, "");
}

TEST(ChannelCodecBearer, ExtractErrorsNeverShowTheToken) {
  const std::string p(kBearerProtocolPrefix);
  struct Case {
    std::string header, error;
  };
  const Case cases[] = {
      {p + "c2VjcmV0," + p + "c2VjcmV0,v5.channel.k8s.io",
       "multiple base64.bearer.authorization tokens specified"},
      {p + "c2VjcmV0Zg==,v5.channel.k8s.io", "invalid base64.bearer.authorization token encoding"},
      {p + "c2VjcmV0+,v5.channel.k8s.io", "invalid base64.bearer.authorization token encoding"},
      {p + "c2VjcmV0a,v5.channel.k8s.io", "invalid base64.bearer.authorization token encoding"},
      {p + "c2Vj_w,v5.channel.k8s.io", "invalid base64.bearer.authorization token"},
      {p + "c2VjcmV0", "missing additional subprotocol"},
  };
  for (const Case& c : cases) {
    auto r = ExtractBearerProtocol(c.header);
    ASSERT_FALSE(r.ok()) << c.header;
    EXPECT_EQ(r.status().code(), Status::Code::kProtocol);
    EXPECT_EQ(r.status().message(), c.error);
  }
}

TEST(ChannelCodecBearer, Redact) {
  EXPECT_EQ(
      RedactProtocolHeader(
          "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.c2VjcmV0 ,v4.channel.k8s.io"),
      "v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.<redacted> ,v4.channel.k8s.io");
  EXPECT_EQ(RedactProtocolHeader("v4.channel.k8s.io,base64url.bearer.authorization.k8s.io.c2Vj"),
            "v4.channel.k8s.io,base64url.bearer.authorization.k8s.io.<redacted>");
  EXPECT_EQ(RedactProtocolHeader("base64url.bearer.authorization.k8s.io.YQ,"
                                 "base64url.bearer.authorization.k8s.io.Yg,x"),
            "base64url.bearer.authorization.k8s.io.<redacted>,"
            "base64url.bearer.authorization.k8s.io.<redacted>,x");
  EXPECT_EQ(RedactProtocolHeader("v5.channel.k8s.io,v4.channel.k8s.io"),
            "v5.channel.k8s.io,v4.channel.k8s.io");
  EXPECT_EQ(RedactProtocolHeader(""), "");
}

// --- messages (PROTOCOL.md 2.2, 2.3, 3.1; section 8 cases 4, 8-15) ---

TEST(ChannelCodecEncode, ExamplesFromTheKubernetesSource) {
  EXPECT_EQ(Encode(Subprotocol::kV1Base64, kStdin, "foo\n"), "0Zm9vCg==");
  EXPECT_EQ(Encode(Subprotocol::kV4Base64, kStdout, "\n"), "1Cg==");
  EXPECT_EQ(Encode(Subprotocol::kV4Base64, kStdout, ""), "1");  // the ready frame
  EXPECT_EQ(Encode(Subprotocol::kV5, kStdin, "input-data"), "\x00input-data"s);
  EXPECT_EQ(Encode(Subprotocol::kNone, kStdout, ""), "\x01"s);
  EXPECT_EQ(Encode(Subprotocol::kV4, kResize, EncodeResize({100, 30})),
            "\x04{\"Width\":100,\"Height\":30}\n"s);
  EXPECT_EQ(Encode(Subprotocol::kV4Base64, kResize, EncodeResize({80, 24})),
            "4eyJXaWR0aCI6ODAsIkhlaWdodCI6MjR9Cg==");
  // EncodeMessage appends.
  std::string out = "x";
  EncodeMessage(Subprotocol::kV1, kStderr, "ab", &out);
  EncodeMessage(Subprotocol::kV1Base64, kStderr, "ab", &out);
  EXPECT_EQ(out,
            "x\x02"
            "ab2YWI=");
}

TEST(ChannelCodecDecode, ExamplesFromTheKubernetesSource) {
  Decoded a = MustDecode(Subprotocol::kV1Base64, Sender::kClient, FrameType::kText, "0Zm9vCg==");
  EXPECT_EQ(a.channel, kStdin);
  EXPECT_EQ(a.payload, "foo\n");
  Decoded b = MustDecode(Subprotocol::kV4Base64, Sender::kServer, FrameType::kText, "1Cg==");
  EXPECT_EQ(b.channel, kStdout);
  EXPECT_EQ(b.payload, "\n");
  // The comment in wsstream/conn.go says "0Zm9vCgo=" is stdin "foo\n"; the bytes say otherwise.
  Decoded c = MustDecode(Subprotocol::kV1Base64, Sender::kClient, FrameType::kText, "0Zm9vCgo=");
  EXPECT_EQ(c.channel, kStdin);
  EXPECT_EQ(c.payload, "foo\n\n");
  EXPECT_EQ(c.payload.size(), 5u);
  Decoded resize = MustDecode(Subprotocol::kV5, Sender::kClient, FrameType::kBinary,
                              "\x04{\"Width\":100,\"Height\":30}\n"s);
  EXPECT_EQ(resize.channel, kResize);
  EXPECT_EQ(resize.payload, "{\"Width\":100,\"Height\":30}\n");
  Decoded stdin_data =
      MustDecode(Subprotocol::kV5, Sender::kClient, FrameType::kBinary, "\x00input-data"s);
  EXPECT_EQ(stdin_data.channel, kStdin);
  EXPECT_EQ(stdin_data.payload, "input-data");
}

TEST(ChannelCodecDecode, ReadyFramesAreEmptyPayloads) {
  for (uint8_t ch : {kStdout, kStderr, kError}) {
    for (Subprotocol p : kAllProtocols) {
      SCOPED_TRACE(std::string(SubprotocolName(p)) + " channel " + std::to_string(ch));
      std::string wire = IsBase64(p) ? std::string(1, static_cast<char>('0' + ch))
                                     : std::string(1, static_cast<char>(ch));
      Decoded d = MustDecode(p, Sender::kServer, FrameTypeFor(p), wire);
      EXPECT_EQ(d.channel, ch);
      EXPECT_EQ(d.payload, "");
    }
  }
}

TEST(ChannelCodecDecode, BinaryPayloadPointsIntoTheMessage) {
  const std::string message = "\x01hello"s;
  std::string scratch;
  DecodedMessage out;
  ASSERT_TRUE(
      DecodeMessage(Subprotocol::kV4, Sender::kServer, FrameType::kBinary, message, &scratch, &out)
          .ok());
  EXPECT_EQ(out.payload.data(), message.data() + 1);
  EXPECT_EQ(out.payload.size(), 5u);
  EXPECT_TRUE(scratch.empty());
}

TEST(ChannelCodecDecode, Base64ReusesTheScratch) {
  std::string scratch;
  DecodedMessage out;
  std::string big = Encode(Subprotocol::kV4Base64, kStdout, std::string(4096, 'x'));
  ASSERT_TRUE(
      DecodeMessage(Subprotocol::kV4Base64, Sender::kServer, FrameType::kText, big, &scratch, &out)
          .ok());
  EXPECT_EQ(out.payload, std::string(4096, 'x'));
  const char* buffer = scratch.data();
  ASSERT_TRUE(DecodeMessage(Subprotocol::kV4Base64, Sender::kServer, FrameType::kText,
                            "2YWI=", &scratch, &out)
                  .ok());
  EXPECT_EQ(out.channel, kStderr);
  EXPECT_EQ(out.payload, "ab");
  EXPECT_EQ(out.payload.data(), scratch.data());
  EXPECT_EQ(scratch.data(), buffer);  // no new allocation for a smaller message
}

TEST(ChannelCodecDecode, RoundTripEveryProtocolChannelAndSender) {
  const std::string payloads[] = {"",
                                  "a",
                                  "ab",
                                  "abc",
                                  "abcd",
                                  "\x00\xff\x80\n"s,
                                  std::string(1 << 20, '\x07')};  // case 11: a 1 MiB frame
  for (Subprotocol p : kAllProtocols) {
    for (uint8_t ch = 0; ch < 5; ++ch) {
      for (const std::string& payload : payloads) {
        for (Sender s : {Sender::kClient, Sender::kServer}) {
          std::string wire = Encode(p, ch, payload);
          Decoded d = MustDecode(p, s, FrameTypeFor(p), wire);
          ASSERT_EQ(d.channel, ch);
          ASSERT_EQ(d.payload, payload) << SubprotocolName(p);
        }
      }
    }
  }
}

// The Go server reads a client's message as bytes whatever its frame type: python3-kubernetes
// 22.6 (ws_client.write_channel) sends text frames with chr(channel) + data on
// v4.channel.k8s.io, and a resize as json.dumps output, with spaces and no newline.
TEST(ChannelCodecDecode, ClientFramesOfEitherTypeAsTheGoServer) {
  Decoded in = MustDecode(Subprotocol::kV4, Sender::kClient, FrameType::kText, "\x00ls -l\n"s);
  EXPECT_EQ(in.channel, kStdin);
  EXPECT_EQ(in.payload, "ls -l\n");
  Decoded resize = MustDecode(Subprotocol::kV4, Sender::kClient, FrameType::kText,
                              "\x04{\"Width\": 80, \"Height\": 24}");
  EXPECT_EQ(resize.channel, kResize);
  ResizeStreamParser parser;
  std::vector<TerminalSize> sizes;
  ASSERT_TRUE(parser.Feed(resize.payload, &sizes).ok());
  EXPECT_THAT(sizes, ElementsAre(TerminalSize{80, 24}));
  Decoded b64 =
      MustDecode(Subprotocol::kV1Base64, Sender::kClient, FrameType::kBinary, "0Zm9vCg==");
  EXPECT_EQ(b64.channel, kStdin);
  EXPECT_EQ(b64.payload, "foo\n");
  Decoded close = MustDecode(Subprotocol::kV5, Sender::kClient, FrameType::kText, "\xff\x00"s);
  EXPECT_EQ(close.channel, kClose);
}

TEST(ChannelCodecDecode, Errors) {
  using P = Subprotocol;
  const auto kC = Sender::kClient;
  const auto kS = Sender::kServer;
  const auto kBin = FrameType::kBinary;
  const auto kTxt = FrameType::kText;
  // Empty messages.
  EXPECT_EQ(DecodeError(P::kV5, kS, kBin, ""), "empty message");
  EXPECT_EQ(DecodeError(P::kNone, kC, kBin, ""), "empty message");
  EXPECT_EQ(DecodeError(P::kV4Base64, kS, kTxt, ""), "empty message");
  // Case 14: unknown channel ids.
  EXPECT_EQ(DecodeError(P::kV5, kS, kBin,
                        "\x05"
                        "abc"),
            "unknown channel 5");
  EXPECT_EQ(DecodeError(P::kV1, kC, kBin, "\xfe"), "unknown channel 254");
  EXPECT_EQ(DecodeError(P::kV1Base64, kS, kTxt, "5YWI="), "unknown channel 5");
  EXPECT_EQ(DecodeError(P::kV1Base64, kS, kTxt, "9"), "unknown channel 9");
  EXPECT_EQ(DecodeError(P::kV4Base64, kS, kTxt, "xYWI="), "invalid channel character 'x'");
  EXPECT_EQ(DecodeError(P::kV4Base64, kC, kTxt, "\xff\x00"s), "invalid channel character '\\xff'");
  EXPECT_EQ(DecodeError(P::kV4Base64, kC, kTxt, "/"), "invalid channel character '/'");
  // Case 15: a text frame on a binary protocol, and the reverse.
  EXPECT_EQ(DecodeError(P::kV5, kS, kTxt, "\x01hi"),
            "text frame on binary protocol v5.channel.k8s.io");
  EXPECT_EQ(DecodeError(P::kV4, kS, kTxt, "1aGk="),
            "text frame on binary protocol v4.channel.k8s.io");
  EXPECT_EQ(DecodeError(P::kV1, kS, kTxt, ""), "text frame on binary protocol channel.k8s.io");
  EXPECT_EQ(DecodeError(P::kNone, kS, kTxt, "\x01"), "text frame on binary protocol (none)");
  EXPECT_EQ(DecodeError(P::kV1Base64, kS, kBin, "1aGk="),
            "binary frame on base64 protocol base64.channel.k8s.io");
  EXPECT_EQ(DecodeError(P::kV4Base64, kS, kBin, "\x01hi"),
            "binary frame on base64 protocol v4.base64.channel.k8s.io");
  // From a client the frame type does not matter (the Go server reads bytes).
  EXPECT_EQ(DecodeError(P::kV4, kC, kTxt, "\x05"), "unknown channel 5");
  EXPECT_EQ(DecodeError(P::kV4Base64, kC, kBin, "0Zm9vCg"),
            "invalid base64 in message on channel 0");
  // Invalid base64: missing padding, whitespace, non-zero trailing bits, bad alphabet.
  EXPECT_EQ(DecodeError(P::kV1Base64, kC, kTxt, "0Zm9vCg"),
            "invalid base64 in message on channel 0");
  EXPECT_EQ(DecodeError(P::kV1Base64, kC, kTxt, "0Zm9vCg==\n"),
            "invalid base64 in message on channel 0");
  EXPECT_EQ(DecodeError(P::kV1Base64, kC, kTxt, "0Zm9v\r\nCg=="),
            "invalid base64 in message on channel 0");
  EXPECT_EQ(DecodeError(P::kV4Base64, kS, kTxt, "1Ch=="), "invalid base64 in message on channel 1");
  EXPECT_EQ(DecodeError(P::kV4Base64, kS, kTxt, "2aGk_"), "invalid base64 in message on channel 2");
  EXPECT_EQ(DecodeError(P::kV4Base64, kS, kTxt, "3===="), "invalid base64 in message on channel 3");
  EXPECT_EQ(DecodeError(P::kV4Base64, kC, kTxt, "4Zg==Zg=="),
            "invalid base64 in message on channel 4");
}

TEST(ChannelCodecDecode, UnknownChannelIsTheOneErrorToSkip) {
  auto status_of = [](Subprotocol p, FrameType type, std::string_view message) {
    std::string scratch;
    DecodedMessage out;
    return DecodeMessage(p, Sender::kServer, type, message, &scratch, &out);
  };
  EXPECT_TRUE(IsUnknownChannel(status_of(Subprotocol::kV5, FrameType::kBinary, "\x05x")));
  // A close signal from the server, or on v4, is an unknown channel to the reader.
  EXPECT_TRUE(IsUnknownChannel(status_of(Subprotocol::kV4, FrameType::kBinary, "\xff\x00"s)));
  EXPECT_TRUE(IsUnknownChannel(status_of(Subprotocol::kV5, FrameType::kBinary, "\xff\x00"s)));
  EXPECT_TRUE(IsUnknownChannel(status_of(Subprotocol::kV1Base64, FrameType::kText, "7")));
  EXPECT_FALSE(IsUnknownChannel(status_of(Subprotocol::kV5, FrameType::kBinary, "")));
  EXPECT_FALSE(IsUnknownChannel(status_of(Subprotocol::kV5, FrameType::kText, "\x05x")));
  EXPECT_FALSE(IsUnknownChannel(status_of(Subprotocol::kV4Base64, FrameType::kText, "1Zg=")));
  EXPECT_FALSE(IsUnknownChannel(ValidateClose("\xff\x07")));  // "close message for unknown ..."
  EXPECT_FALSE(IsUnknownChannel(Status::OK()));
  EXPECT_FALSE(IsUnknownChannel(Status::IOError("unknown channel 9")));
}

// --- the v5 close signal (PROTOCOL.md 2.5; section 8 cases 16-17) ---

TEST(ChannelCodecClose, EncodeAndDecode) {
  EXPECT_EQ(EncodeClose(kStdin), "\xff\x00"s);
  EXPECT_EQ(EncodeClose(kResize), "\xff\x04"s);
  EXPECT_TRUE(ValidateClose("\xff\x00"s).ok());
  EXPECT_TRUE(ValidateClose("\xff\x04"s).ok());  // close(4) ends resize processing: legal
  Decoded d =
      MustDecode(Subprotocol::kV5, Sender::kClient, FrameType::kBinary, EncodeClose(kStdin));
  EXPECT_EQ(d.channel, kClose);
  EXPECT_EQ(d.payload, "\x00"s);
}

TEST(ChannelCodecClose, Errors) {
  auto message = [](Status st) { return st.ok() ? std::string("ok") : st.message(); };
  EXPECT_EQ(message(ValidateClose("\xff")), "close message must be 2 bytes, got 1");
  EXPECT_EQ(message(ValidateClose("\xff\x00\x00"s)), "close message must be 2 bytes, got 3");
  EXPECT_EQ(message(ValidateClose("")), "close message must be 2 bytes, got 0");
  EXPECT_EQ(message(ValidateClose("\xff\x05")), "close message for unknown channel 5");
  EXPECT_EQ(message(ValidateClose("\xff\xff")), "close message for unknown channel 255");
  EXPECT_EQ(ValidateClose("\xff\x05").code(), Status::Code::kProtocol);
  const auto kBin = FrameType::kBinary;
  EXPECT_EQ(DecodeError(Subprotocol::kV5, Sender::kClient, kBin, "\xff"),
            "close message must be 2 bytes, got 1");
  EXPECT_EQ(DecodeError(Subprotocol::kV5, Sender::kClient, kBin, "\xff\x00\x01"s),
            "close message must be 2 bytes, got 3");
  EXPECT_EQ(DecodeError(Subprotocol::kV5, Sender::kClient, kBin, "\xff\x05"),
            "close message for unknown channel 5");
  EXPECT_EQ(DecodeError(Subprotocol::kV5, Sender::kServer, kBin, "\xff\x00"s),
            "unknown channel 255: close signal from the server");
  EXPECT_EQ(DecodeError(Subprotocol::kV4, Sender::kClient, kBin, "\xff\x00"s),
            "unknown channel 255: close signal on v4.channel.k8s.io, which has none");
  EXPECT_EQ(DecodeError(Subprotocol::kNone, Sender::kClient, kBin, "\xff\x00"s),
            "unknown channel 255: close signal on (none), which has none");
}

// --- base64 (strict RFC 4648) ---

TEST(ChannelCodecBase64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {"\xfb\xff"s, "+/8="},
      {"\x00\x00\x00"s, "AAAA"},
  };
  for (const auto& [plain, encoded] : vectors) {
    std::string e;
    Base64Encode(plain, &e);
    EXPECT_EQ(e, encoded);
    std::string d = "junk";  // replaced, not appended to
    ASSERT_TRUE(Base64Decode(encoded, &d)) << encoded;
    EXPECT_EQ(d, plain);
  }
  std::string appended = "x";
  Base64Encode("f", &appended);
  EXPECT_EQ(appended, "xZg==");
}

TEST(ChannelCodecBase64, RejectsEverythingButCanonicalPaddedText) {
  const std::string bad[] = {
      "Zg",       "Zg=",   "Z",        "Zm9vY",   "Zh==",     "Zm9=",    "Zm8=Zm8=",
      "Zg==Zg==", "Z===",  "====",     "=Zg=",    "Zg=a",     "Zm9v\n",  "Zm 9v",
      "Zm9v-_8=", " Zm9v", "Zm9v\r\n", "Zg==\0"s, "Zm9v====", "Zm\x80v", "Zm9vYg=",
  };
  for (const std::string& s : bad) {
    std::string out = "junk";
    EXPECT_FALSE(Base64Decode(s, &out)) << s;
    EXPECT_EQ(out, "");
  }
}

TEST(ChannelCodecBase64, EveryByteValueRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); ++len) {
    std::string e, d;
    Base64Encode(std::string_view(all).substr(0, len), &e);
    ASSERT_TRUE(Base64Decode(e, &d));
    ASSERT_EQ(d, all.substr(0, len));
  }
}

// OpenSSL's encoder is the oracle for encoding; for decoding, strictness means exactly the
// strings our encoder can produce are accepted.
TEST(ChannelCodecBase64, MatchesOpenSslAndIsCanonical) {
  std::mt19937 rng(20261126);
  for (int i = 0; i < 2000; ++i) {
    std::string plain(rng() % 64, '\0');
    for (char& c : plain) c = static_cast<char>(rng());
    std::string ours;
    Base64Encode(plain, &ours);
    std::string theirs(4 * ((plain.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(theirs.data()),
                            reinterpret_cast<const unsigned char*>(plain.data()),
                            static_cast<int>(plain.size()));
    theirs.resize(static_cast<size_t>(n));
    ASSERT_EQ(ours, theirs);
  }
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  int accepted = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string s(4 * (1 + rng() % 2), '\0');
    for (char& c : s) c = alphabet[rng() % (rng() % 4 == 0 ? alphabet.size() : 64)];
    if (rng() % 2) s[s.size() - 1] = '=';
    if (rng() % 4 == 0) s[s.size() - 2] = '=';
    std::string d;
    const bool ok = Base64Decode(s, &d);
    // Reference: the text is canonical iff it is the encoding of the bytes its leading
    // characters spell (padding only at the end, at most 2).
    std::string_view body = s;
    while (!body.empty() && body.back() == '=' && s.size() - body.size() < 2) body.remove_suffix(1);
    bool canonical = body.find('=') == std::string_view::npos;
    std::string bytes;
    uint32_t bits = 0;
    int nbits = 0;
    for (char c : body) {
      bits = (bits << 6) | static_cast<uint32_t>(alphabet.find(c));
      nbits += 6;
      if (nbits >= 8) {
        nbits -= 8;
        bytes.push_back(static_cast<char>(bits >> nbits));
      }
    }
    if (canonical) {
      std::string again;
      Base64Encode(bytes, &again);
      canonical = again == s;
    }
    ASSERT_EQ(ok, canonical) << s;
    if (ok) {
      ASSERT_EQ(d, bytes);
    }
    accepted += ok;
  }
  EXPECT_GT(accepted, 1000);  // the generator reaches both outcomes
}

// --- resize (PROTOCOL.md 2.4; section 8 cases 26-28) ---

TEST(ChannelCodecResize, EncodeIsWhatClientGoWrites) {
  EXPECT_EQ(EncodeResize({100, 30}), "{\"Width\":100,\"Height\":30}\n");
  EXPECT_EQ(EncodeResize({0, 0}), "{\"Width\":0,\"Height\":0}\n");
  EXPECT_EQ(EncodeResize({65535, 1}), "{\"Width\":65535,\"Height\":1}\n");
}

std::vector<TerminalSize> FeedAll(const std::vector<std::string>& frames) {
  ResizeStreamParser parser;
  std::vector<TerminalSize> sizes;
  for (const std::string& f : frames) {
    Status st = parser.Feed(f, &sizes);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  return sizes;
}

std::string ResizeError(const std::vector<std::string>& frames,
                        std::vector<TerminalSize>* sizes = nullptr) {
  ResizeStreamParser parser;
  std::vector<TerminalSize> local;
  if (sizes == nullptr) sizes = &local;
  for (const std::string& f : frames) {
    Status st = parser.Feed(f, sizes);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), Status::Code::kProtocol);
      return st.message();
    }
  }
  return "ok";
}

TEST(ChannelCodecResize, OneObjectPerFrame) {
  EXPECT_THAT(FeedAll({"{\"Width\":100,\"Height\":30}\n"}), ElementsAre(TerminalSize{100, 30}));
  EXPECT_THAT(FeedAll({"{\"Width\":81,\"Height\":25}\n", "{\"Width\":80,\"Height\":24}\n"}),
              ElementsAre(TerminalSize{81, 25}, TerminalSize{80, 24}));
}

TEST(ChannelCodecResize, SeveralObjectsInOneFrame) {
  // kubectl attach's double resize in one frame, with and without whitespace between.
  EXPECT_THAT(FeedAll({"{\"Width\":81,\"Height\":25}\n{\"Width\":80,\"Height\":24}\n"}),
              ElementsAre(TerminalSize{81, 25}, TerminalSize{80, 24}));
  EXPECT_THAT(FeedAll({"{\"Width\":1,\"Height\":2}{\"Width\":3,\"Height\":4}"}),
              ElementsAre(TerminalSize{1, 2}, TerminalSize{3, 4}));
  EXPECT_THAT(FeedAll({" \r\n\t{\"Width\":1,\"Height\":2}  \n {\"Width\":3,\"Height\":4} \n"}),
              ElementsAre(TerminalSize{1, 2}, TerminalSize{3, 4}));
  EXPECT_THAT(FeedAll({"", "  ", "\n"}), ElementsAre());
}

TEST(ChannelCodecResize, SplitAtEveryByte) {
  const std::string stream =
      "{\"Width\":81,\"Height\":25}\n{\"width\" : 80 , "
      "\"height\":24}{\"HEIGHT\":7,\"Width\":65535}";
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); j += 7) {
      SCOPED_TRACE(std::to_string(i) + "/" + std::to_string(j));
      ASSERT_THAT(FeedAll({stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}),
                  ElementsAre(TerminalSize{81, 25}, TerminalSize{80, 24}, TerminalSize{65535, 7}));
    }
  }
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_THAT(FeedAll(bytes),
              ElementsAre(TerminalSize{81, 25}, TerminalSize{80, 24}, TerminalSize{65535, 7}));
}

// What real clients send on channel 4, concatenated as a server reads it: kubectl/client-go
// (json.Encoder), python3-kubernetes 22.6 (json.dumps via write_channel) and
// @kubernetes/client-node 2.0.1 (TerminalSizeQueue: JSON.stringify({height, width})).
TEST(ChannelCodecResize, RealClientForms) {
  EXPECT_THAT(FeedAll({"{\"Width\":100,\"Height\":30}\n", "{\"Width\": 80, \"Height\": 24}",
                       "{\"height\":25,\"width\":81}"}),
              ElementsAre(TerminalSize{100, 30}, TerminalSize{80, 24}, TerminalSize{81, 25}));
}

TEST(ChannelCodecResize, GoDecodingRules) {
  // Keys in any case; unknown keys ignored, also when nested; the last duplicate wins.
  EXPECT_THAT(FeedAll({"{\"wIdTh\":5,\"HeIgHt\":6}"}), ElementsAre(TerminalSize{5, 6}));
  EXPECT_THAT(FeedAll({"{\"Width\":5,\"x\":{\"Width\":9,\"a\":[1,{\"Height\":2},\"s\",true,null,"
                       "1.5e3]},\"Height\":6,\"y\":-1}"}),
              ElementsAre(TerminalSize{5, 6}));
  EXPECT_THAT(FeedAll({"{\"Width\":1,\"width\":2,\"Height\":3}"}), ElementsAre(TerminalSize{2, 3}));
  // Missing and null fields stay 0; a top-level null is a zero size, as Go decodes it.
  EXPECT_THAT(
      FeedAll({"{\"Width\":7}", "{}", "{\"Width\":null,\"Height\":4}", "null"}),
      ElementsAre(TerminalSize{7, 0}, TerminalSize{0, 0}, TerminalSize{0, 4}, TerminalSize{0, 0}));
  // Keys that only look alike do not match.
  EXPECT_THAT(FeedAll({"{\"Widths\":7,\"Heigh\":8,\"W\":9}"}), ElementsAre(TerminalSize{0, 0}));
  EXPECT_THAT(FeedAll({"{\"widthwidthwidth\":7,\"Height\":1}"}), ElementsAre(TerminalSize{0, 1}));
  // Keys are compared after unescaping, as Go does.
  EXPECT_THAT(FeedAll({"{\"W\\u0069dth\":5,\"He", "ight\":6}"}), ElementsAre(TerminalSize{5, 6}));
  EXPECT_THAT(FeedAll({"{\"Width\":0,\"Height\":65535}"}), ElementsAre(TerminalSize{0, 65535}));
}

TEST(ChannelCodecResize, Errors) {
  EXPECT_EQ(ResizeError({"{\"Width\":70000}"}),
            "resize Width must be an integer 0-65535, got 70000");
  EXPECT_EQ(ResizeError({"{\"Height\":65536}"}),
            "resize Height must be an integer 0-65535, got 65536");
  EXPECT_EQ(ResizeError({"{\"height\":-1}"}), "resize Height must be an integer 0-65535, got -1");
  EXPECT_EQ(ResizeError({"{\"Width\":-0}"}), "resize Width must be an integer 0-65535, got -0");
  EXPECT_EQ(ResizeError({"{\"Width\":1.5}"}), "resize Width must be an integer 0-65535, got 1.5");
  EXPECT_EQ(ResizeError({"{\"Width\":8", "0.0}"}),
            "resize Width must be an integer 0-65535, got 80.0");
  EXPECT_EQ(ResizeError({"{\"Width\":1e2}"}), "resize Width must be an integer 0-65535, got 1e2");
  EXPECT_EQ(ResizeError({"{\"Width\":123456789012345678901234567890}"}),
            "resize Width must be an integer 0-65535, got 123456789012345678901234...");
  EXPECT_EQ(ResizeError({"{\"Width\":\"80\"}"}),
            "resize Width must be an integer 0-65535, got a string");
  EXPECT_EQ(ResizeError({"{\"Width\":true}"}), "resize Width must be an integer 0-65535, got true");
  EXPECT_EQ(ResizeError({"{\"Width\":{}}"}),
            "resize Width must be an integer 0-65535, got an object");
  EXPECT_EQ(ResizeError({"{\"Height\":[80]}"}),
            "resize Height must be an integer 0-65535, got an array");
  EXPECT_EQ(ResizeError({"80"}), "ok");  // a number is incomplete until what follows it
  EXPECT_EQ(ResizeError({"80 "}), "resize message is not a json object");
  EXPECT_EQ(ResizeError({"[{\"Width\":1}]"}), "resize message is not a json object");
  EXPECT_EQ(ResizeError({"\"x\""}), "resize message is not a json object");
  EXPECT_EQ(ResizeError({"false"}), "resize message is not a json object");
  EXPECT_EQ(ResizeError({"{\"Width\":1,}"}), "invalid resize json: syntax error");
  EXPECT_EQ(ResizeError({"{Width:1}"}), "invalid resize json: syntax error");
  EXPECT_EQ(ResizeError({"{\"Width\":01}"}), "invalid resize json: syntax error");
  EXPECT_EQ(ResizeError({"{\"Width\":1}", "}"}), "invalid resize json: syntax error");
  EXPECT_EQ(ResizeError({"/* */{}"}), "invalid resize json: syntax error");
}

TEST(ChannelCodecResize, ObjectsBeforeAnErrorCountAndTheErrorSticks) {
  ResizeStreamParser parser;
  std::vector<TerminalSize> sizes;
  Status st =
      parser.Feed("{\"Width\":80,\"Height\":24}{\"Width\":-5}{\"Width\":1,\"Height\":1}", &sizes);
  EXPECT_EQ(st.message(), "resize Width must be an integer 0-65535, got -5");
  EXPECT_THAT(sizes, ElementsAre(TerminalSize{80, 24}));
  // Go stops resize handling at the first undecodable object; so do we.
  EXPECT_EQ(parser.Feed("{\"Width\":2,\"Height\":2}", &sizes).message(),
            "resize Width must be an integer 0-65535, got -5");
  EXPECT_THAT(sizes, ElementsAre(TerminalSize{80, 24}));
}

// --- status (PROTOCOL.md 2.6; section 8 cases 19-25) ---

constexpr std::string_view kSuccessJson = R"({"metadata":{},"status":"Success"})";
constexpr std::string_view kExit3Json =
    R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})";

std::string ExitJson(std::string_view code_text) {
  return R"({"metadata":{},"status":"Failure","message":"m","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":")" +
         std::string(code_text) + R"("}]}})";
}

std::string StatusError(Subprotocol p, std::string_view text) {
  auto r = ParseStatus(p, text);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.status().code(), Status::Code::kProtocol);
  return r.status().message();
}

TEST(ChannelCodecStatus, Success) {
  for (Subprotocol p : {Subprotocol::kV4, Subprotocol::kV4Base64, Subprotocol::kV5}) {
    auto r = ParseStatus(p, kSuccessJson);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->kind, RemoteStatus::Kind::kSuccess);
    EXPECT_EQ(r->exit_code, 0);
    EXPECT_EQ(r->message, "");
    EXPECT_EQ(r->code, 0);
  }
}

TEST(ChannelCodecStatus, NonZeroExitCodeBothServerVariants) {
  auto v5 = ParseStatus(Subprotocol::kV5, kExit3Json);
  ASSERT_TRUE(v5.ok()) << v5.status().message();
  EXPECT_EQ(v5->kind, RemoteStatus::Kind::kExitCode);
  EXPECT_EQ(v5->exit_code, 3);
  EXPECT_EQ(v5->message,
            "command terminated with non-zero exit code: command terminated with exit code 3");
  EXPECT_EQ(v5->reason, "NonZeroExitCode");
  EXPECT_EQ(v5->code, 0);
  const std::string runtime =
      R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})";
  auto v4 = ParseStatus(Subprotocol::kV4, runtime);
  ASSERT_TRUE(v4.ok()) << v4.status().message();
  EXPECT_EQ(v4->kind, RemoteStatus::Kind::kExitCode);
  EXPECT_EQ(v4->exit_code, 3);
  EXPECT_EQ(v4->message,
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], "
            "exit code 3");
}

TEST(ChannelCodecStatus, ExitCodeEdges) {
  struct Case {
    std::string text;
    int code;
  };
  for (const Case& c : {Case{"0", 0}, Case{"255", 255}, Case{"1", 1}, Case{"007", 7},
                        Case{"00000000000000000000255", 255}}) {
    auto r = ParseStatus(Subprotocol::kV5, ExitJson(c.text));
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().message();
    EXPECT_EQ(r->kind, RemoteStatus::Kind::kExitCode);
    EXPECT_EQ(r->exit_code, c.code);
  }
  for (std::string bad :
       {"256", "x", "-1", "", "+3", " 3", "3 ", "1000", "99999999999999999999", "0x1"}) {
    EXPECT_EQ(StatusError(Subprotocol::kV5, ExitJson(bad)),
              "exit code out of range: \"" + bad + "\" (must be decimal 0-255)");
  }
  // The ExitCode cause need not be first; others are skipped (client-go).
  auto later = ParseStatus(
      Subprotocol::kV4,
      R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[null,{"reason":"Other","message":"x"},{"reason":"ExitCode","message":"4"}]}})");
  ASSERT_TRUE(later.ok()) << later.status().message();
  EXPECT_EQ(later->exit_code, 4);
}

TEST(ChannelCodecStatus, MissingExitCodeCause) {
  const std::string cases[] = {
      R"({"status":"Failure","reason":"NonZeroExitCode"})",
      R"({"status":"Failure","reason":"NonZeroExitCode","details":{}})",
      R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[]}})",
      R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"message":"3"}]}})",
      R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"exitcode","message":"3"}]}})",
  };
  for (const std::string& c : cases) {
    EXPECT_EQ(StatusError(Subprotocol::kV5, c), "status without an ExitCode cause") << c;
  }
}

TEST(ChannelCodecStatus, InternalErrorKeepsTheMessage) {
  const std::string json =
      R"({"metadata":{},"status":"Failure","message":"Internal error occurred: unable to upgrade connection: 404 page not found","reason":"InternalError","details":{"causes":[{"message":"unable to upgrade connection: 404 page not found"}]},"code":500})";
  auto r = ParseStatus(Subprotocol::kV5, json);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, RemoteStatus::Kind::kFailure);
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->message,
            "Internal error occurred: unable to upgrade connection: 404 page not found");
  EXPECT_EQ(r->reason, "InternalError");
  EXPECT_EQ(r->code, 500);
  // Other failures (a passed-through upstream status) keep their own code.
  auto other = ParseStatus(Subprotocol::kV4,
                           R"({"status":"Failure","message":"pods \"x\" not found","reason":)"
                           R"("NotFound","code":404})");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->kind, RemoteStatus::Kind::kFailure);
  EXPECT_EQ(other->message, "pods \"x\" not found");
  EXPECT_EQ(other->reason, "NotFound");
  EXPECT_EQ(other->code, 404);
}

// Case 7: the Status body of an HTTP error before the upgrade parses the same way, keeping
// message, reason and code.
TEST(ChannelCodecStatus, HttpErrorBodies) {
  const std::string body =
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" is forbidden: User \"u\" cannot get resource \"pods/exec\" in API group \"\" in the namespace \"default\"","reason":"Forbidden","details":{"name":"x","kind":"pods"},"code":403})"
      "\n";
  auto r = ParseStatus(Subprotocol::kV5, body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, RemoteStatus::Kind::kFailure);
  EXPECT_EQ(
      r->message,
      "pods \"x\" is forbidden: User \"u\" cannot get resource \"pods/exec\" in API group \"\" "
      "in the namespace \"default\"");
  EXPECT_EQ(r->reason, "Forbidden");
  EXPECT_EQ(r->code, 403);
  EXPECT_EQ(r->exit_code, 1);
}

TEST(ChannelCodecStatus, SplitOverFramesIsAccumulated) {
  // Case 23: the status arrives in two base64 frames; the caller concatenates the payloads.
  const std::string json(kExit3Json);
  std::string accumulated;
  for (std::string part : {json.substr(0, 40), json.substr(40)}) {
    Decoded d = MustDecode(Subprotocol::kV4Base64, Sender::kServer, FrameType::kText,
                           Encode(Subprotocol::kV4Base64, kError, part));
    ASSERT_EQ(d.channel, kError);
    accumulated += d.payload;
  }
  auto r = ParseStatus(Subprotocol::kV4Base64, accumulated);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 3);
}

TEST(ChannelCodecStatus, NoDataAndPreV4PlainText) {
  // Case 24: no status at all on v4/v5 is success for client-go, but told apart.
  for (Subprotocol p : {Subprotocol::kV4, Subprotocol::kV4Base64, Subprotocol::kV5}) {
    auto r = ParseStatus(p, "");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->kind, RemoteStatus::Kind::kNone);
    EXPECT_EQ(r->exit_code, 0);
  }
  // Case 3 and 25: pre-v4 writes nothing on success and plain text on failure.
  const std::string text =
      "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit "
      "code 3";
  for (Subprotocol p : {Subprotocol::kNone, Subprotocol::kV1, Subprotocol::kV1Base64}) {
    auto ok = ParseStatus(p, "");
    ASSERT_TRUE(ok.ok());
    EXPECT_EQ(ok->kind, RemoteStatus::Kind::kSuccess);
    EXPECT_EQ(ok->exit_code, 0);
    auto fail = ParseStatus(p, text);
    ASSERT_TRUE(fail.ok());
    EXPECT_EQ(fail->kind, RemoteStatus::Kind::kFailure);
    EXPECT_EQ(fail->exit_code, 1);
    EXPECT_EQ(fail->message, text);
    // JSON on a pre-v4 protocol is just text.
    auto json = ParseStatus(p, kSuccessJson);
    ASSERT_TRUE(json.ok());
    EXPECT_EQ(json->kind, RemoteStatus::Kind::kFailure);
    EXPECT_EQ(json->message, kSuccessJson);
  }
}

TEST(ChannelCodecStatus, GoUnmarshalLeniency) {
  // Keys match case-insensitively; null fields are empty; invalid UTF-8 is kept.
  auto r = ParseStatus(Subprotocol::kV5, R"({"Status":"Failure","MESSAGE":null,"Reason":"X"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, RemoteStatus::Kind::kFailure);
  EXPECT_EQ(r->reason, "X");
  auto utf8 = ParseStatus(Subprotocol::kV5, "{\"status\":\"Failure\",\"message\":\"a\xff\"}");
  ASSERT_TRUE(utf8.ok()) << utf8.status().message();
  EXPECT_EQ(utf8->message, "a\xff");
}

TEST(ChannelCodecStatus, Unparseable) {
  const auto v5 = Subprotocol::kV5;
  EXPECT_EQ(StatusError(v5, "{"), "unparseable status: incomplete JSON at byte 1");
  EXPECT_EQ(StatusError(v5, "{\"status\":x}"), "unparseable status: syntax error at byte 10");
  EXPECT_EQ(StatusError(v5, std::string(kSuccessJson) + "x"),
            "unparseable status: extra data at byte 34");
  EXPECT_EQ(StatusError(v5, "[]"), "unparseable status: not a json object");
  EXPECT_EQ(StatusError(v5, "\"Success\""), "unparseable status: not a json object");
  EXPECT_EQ(StatusError(v5, "null"), "unparseable status: status is \"\", not Success or Failure");
  EXPECT_EQ(StatusError(v5, "{}"), "unparseable status: status is \"\", not Success or Failure");
  EXPECT_EQ(StatusError(v5, R"({"status":"Pending"})"),
            "unparseable status: status is \"Pending\", not Success or Failure");
  EXPECT_EQ(StatusError(v5, R"({"status":"success"})"),
            "unparseable status: status is \"success\", not Success or Failure");
  EXPECT_EQ(StatusError(v5, R"({"status":1})"),
            "unparseable status: field \"status\" is not a string");
  EXPECT_EQ(StatusError(v5, R"({"status":"Failure","message":5})"),
            "unparseable status: field \"message\" is not a string");
  EXPECT_EQ(StatusError(v5, R"({"status":"Failure","code":"500"})"),
            "unparseable status: field \"code\" is not a 32-bit integer");
  EXPECT_EQ(StatusError(v5, R"({"status":"Failure","code":500.5})"),
            "unparseable status: field \"code\" is not a 32-bit integer");
  EXPECT_EQ(StatusError(v5, R"({"status":"Failure","code":2147483648})"),
            "unparseable status: field \"code\" is not a 32-bit integer");
  EXPECT_EQ(StatusError(v5, R"({"status":"Failure","details":[]})"),
            "unparseable status: field \"details\" is not an object");
  EXPECT_EQ(StatusError(v5, R"({"status":"Failure","details":{"causes":{}}})"),
            "unparseable status: field \"details.causes\" is not an array");
  EXPECT_EQ(StatusError(
                v5, R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[1]}})"),
            "unparseable status: field \"details.causes[]\" is not an object");
  EXPECT_EQ(
      StatusError(
          v5,
          R"({"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":3}]}})"),
      "unparseable status: field \"message\" is not a string");
}

// --- robustness: arbitrary bytes never crash, and what decodes re-encodes to the same bytes ---

TEST(ChannelCodecFuzz, DecodeArbitraryMessages) {
  std::mt19937 rng(4006);
  std::string scratch;
  const std::string digits_and_b64 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/=";
  int decoded = 0;
  for (int i = 0; i < 50000; ++i) {
    Subprotocol p = kAllProtocols[rng() % 6];
    Sender sender = rng() % 2 ? Sender::kClient : Sender::kServer;
    FrameType type = rng() % 8 == 0 ? (FrameTypeFor(p) == FrameType::kText ? FrameType::kBinary
                                                                           : FrameType::kText)
                                    : FrameTypeFor(p);
    std::string message(rng() % 12, '\0');
    for (char& c : message) {
      c = IsBase64(p) ? digits_and_b64[rng() % digits_and_b64.size()] : static_cast<char>(rng());
    }
    if (!message.empty() && rng() % 2)
      message[0] = static_cast<char>(IsBase64(p) ? '0' + rng() % 6 : rng() % 6);
    DecodedMessage out;
    Status st = DecodeMessage(p, sender, type, message, &scratch, &out);
    if (!st.ok()) {
      ASSERT_EQ(st.code(), Status::Code::kProtocol);
      ASSERT_EQ(st.message().find('\n'), std::string::npos);
      continue;
    }
    ++decoded;
    if (out.channel == kClose) {
      ASSERT_EQ(EncodeClose(static_cast<uint8_t>(out.payload[0])), message);
    } else {
      ASSERT_EQ(Encode(p, out.channel, out.payload), message);
    }
  }
  EXPECT_GT(decoded, 5000);
}

TEST(ChannelCodecFuzz, ResizeAndStatusNeverCrash) {
  std::mt19937 rng(65535);
  const std::string pieces[] = {
      "{",     "}", "[",     "]",  "\"Width\"", "\"height\"", ":",
      ",",     "1", "65536", "-",  ".5",        "null",       "true",
      "\"s\"", " ", "\n",    "\\", "\"",        "e9",         "{\"Width\":3,\"Height\":4}"};
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    for (int n = rng() % 12; n > 0; --n) text += pieces[rng() % std::size(pieces)];
    ResizeStreamParser parser;
    std::vector<TerminalSize> sizes;
    size_t cut = text.empty() ? 0 : rng() % text.size();
    Status a = parser.Feed(std::string_view(text).substr(0, cut), &sizes);
    Status b = parser.Feed(std::string_view(text).substr(cut), &sizes);
    if (!a.ok()) {
      ASSERT_EQ(a, b);  // sticky
    }
    // The same bytes in one piece give the same sizes and the same verdict.
    ResizeStreamParser whole;
    std::vector<TerminalSize> whole_sizes;
    Status c = whole.Feed(text, &whole_sizes);
    ASSERT_EQ(c, b) << text;
    ASSERT_EQ(whole_sizes, sizes) << text;
    auto st = ParseStatus(Subprotocol::kV5, text);
    if (!st.ok()) {
      ASSERT_EQ(st.status().message().find('\n'), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace podtape::codec
