// The Kubernetes exec/attach WebSocket channel codec: pure bytes in, bytes out.
// No socket, no SQLite, no clock. The wire rules are in ../shared/PROTOCOL.md (sections 1-2);
// recorder/PROTOCOL.md summarises what this file implements.
//
// Errors follow schema/status.h; every malformed input gets a Status::Protocol with an exact,
// tested message.
#ifndef PODTAPE_RECORDER_CHANNEL_CODEC_H_
#define PODTAPE_RECORDER_CHANNEL_CODEC_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "schema/status.h"

namespace podtape::codec {

// The WebSocket subprotocols a server may choose. kNone is "no Sec-WebSocket-Protocol header",
// which servers treat as binary channel.k8s.io.
enum class Subprotocol : uint8_t {
  kNone,      // ""
  kV1,        // channel.k8s.io
  kV1Base64,  // base64.channel.k8s.io
  kV4,        // v4.channel.k8s.io
  kV4Base64,  // v4.base64.channel.k8s.io
  kV5,        // v5.channel.k8s.io
};

// Channel ids (PROTOCOL.md 2.1). kClose is the v5 client->server close signal, not a channel.
enum Channel : uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kError = 3,
  kResize = 4,
  kClose = 255,
};

// Who sent a message; decoding rules differ (only clients send kClose).
enum class Sender : uint8_t { kClient, kServer };

// The WebSocket frame type a message travels in.
enum class FrameType : uint8_t { kBinary, kText };

std::string_view SubprotocolName(Subprotocol p);  // "" for kNone
// Exact match of a name as it appears in Sec-WebSocket-Protocol; nullopt if not a data protocol.
// "" is kNone.
std::optional<Subprotocol> ParseSubprotocol(std::string_view name);
bool IsBase64(Subprotocol p);           // base64.channel.k8s.io, v4.base64.channel.k8s.io
bool HasJsonStatus(Subprotocol p);      // v4*, v5: channel 3 carries a metav1.Status JSON
bool HasCloseSignal(Subprotocol p);     // v5 only
FrameType FrameTypeFor(Subprotocol p);  // kText for base64 protocols

// The default offer: v5, v4, channel.k8s.io (in that order).
std::vector<Subprotocol> DefaultOffer();
// "v5.channel.k8s.io,v4.channel.k8s.io,channel.k8s.io": one comma-joined header value (kNone
// entries are left out; an offer of only kNone means "send no header").
std::string JoinOffer(std::span<const Subprotocol> offer);
// Parses a user's --protocols list ("v5.channel.k8s.io, base64.channel.k8s.io"). Unknown names,
// empty entries, duplicates and bearer-token entries are errors (Status::InvalidArgument; the
// token is never echoed). Never yields kNone.
Result<std::vector<Subprotocol>> ParseOfferList(std::string_view csv);
// Checks the server's Sec-WebSocket-Protocol answer against what was offered. An empty answer
// is accepted only if kNone was offered (or nothing at all was offered). Errors are
// Status::Protocol: "server chose no subprotocol; offered L" /
// "server chose subprotocol \"X\", which was not offered (offered L)".
Result<Subprotocol> CheckChosen(std::string_view chosen, std::span<const Subprotocol> offered);
// Server side: chooses as the real servers do (PROTOCOL.md 1.2). If v5 is enabled and any entry is
// exactly v5.channel.k8s.io, v5; otherwise the first entry of the client's list that is supported
// (bearer-token entries and unknown names skipped). A missing/empty header means kNone. Entries
// are split on ',' and trimmed; an empty entry (as in "a, ,b") is the protocol "" = kNone, as in
// the runtime's handshake().
// nullopt: nothing acceptable (the server answers 403 with an empty body).
std::optional<Subprotocol> ChooseServerProtocol(std::string_view header, bool v5_enabled);

// --- a bearer token carried in a subprotocol entry (PROTOCOL.md 6) ---
// The token is secret: it never appears in a Status message, and the entry must be redacted
// before a header is logged or stored.
inline constexpr std::string_view kBearerProtocolPrefix = "base64url.bearer.authorization.k8s.io.";
// The entry a client adds to its offer: the prefix, then the token in base64url without padding
// (Go's RawURLEncoding).
std::string BearerProtocolEntry(std::string_view token);
struct BearerProtocol {
  std::string token;     // empty: no bearer entry (or an empty one), as the API server sees it
  std::string filtered;  // the other entries, trimmed and joined with ","; what the server
                         // chooses from when a token was found
};
// Server side, as kube-apiserver's websocket ProtocolAuthenticator (several Sec-WebSocket-Protocol
// header lines are joined with "," first): finds the one bearer entry, decodes it (base64url
// without padding, as Go's RawURLEncoding: '\r'/'\n' skipped, trailing bits ignored) and checks
// it. Errors (Status::Protocol; the server answers 401), Go's exact texts:
//   "multiple base64.bearer.authorization tokens specified"
//   "invalid base64.bearer.authorization token encoding"
//   "invalid base64.bearer.authorization token"     (not valid UTF-8)
//   "missing additional subprotocol"                 (a token and no other entry)
Result<BearerProtocol> ExtractBearerProtocol(std::string_view header);
// The header with the token of every bearer entry replaced by "<redacted>"; everything else is
// kept byte for byte. For logs and the store.
std::string RedactProtocolHeader(std::string_view header);

// Appends the wire form of one message to *out: [channel][payload] on binary protocols,
// ['0'+channel][base64(payload)] on base64 protocols (channel 0-4 there). *out is not cleared.
void EncodeMessage(Subprotocol p, uint8_t channel, std::string_view payload, std::string* out);
// The v5 close signal: {0xFF, channel}.
std::string EncodeClose(uint8_t channel);

struct DecodedMessage {
  uint8_t channel = 0;  // 0-4, or kClose (a valid v5 close from a client; payload = the 1 byte
                        // of the channel being closed)
  // Binary protocols: points into the input message. Base64 protocols: points into the caller's
  // scratch string. Valid until either is modified.
  std::string_view payload;
};

// Decodes one complete WebSocket data message (fragments already joined). Binary protocols never
// copy; base64 protocols decode into *scratch (its capacity is reused across calls).
// Channels 0-4 are accepted from either sender (the server ignores, rather than rejects, data on
// channels it did not open). The frame type is checked only on messages from the server, as
// client-go does (first, then emptiness); the Go servers read a client's message as bytes whatever
// its frame type, and the Python client sends text frames on v4.channel.k8s.io, so from a client
// either type is decoded by the protocol's rules.
// Errors (Status::Protocol, exact messages; P is the protocol name, "(none)" for kNone):
//   "empty message"
//   "unknown channel N"                         (N > 4; 255 is allowed only as a v5 close from a
//                                                client, and must then pass ValidateClose)
//   "text frame on binary protocol P"           / "binary frame on base64 protocol P" (server)
//   "invalid base64 in message on channel N"    (strict: see Base64Decode)
//   "invalid channel character 'c'"             (base64 protocols, first byte not a digit;
//                                                '5'..'9' give "unknown channel N")
//   "unknown channel 255: close signal on P, which has none"   (not v5: servers ignore it)
//   "unknown channel 255: close signal from the server"        (client-go ignores it)
//   plus the ValidateClose messages.
Status DecodeMessage(Subprotocol p, Sender sender, FrameType type, std::string_view message,
                     std::string* scratch, DecodedMessage* out);

// True when a DecodeMessage error is "unknown channel N": a reader logs it and goes on, as
// client-go does ("unknown stream id, discarding message"; PROTOCOL.md 8, case 14), and as the
// servers do for a client's message. Every other decode error from a server ends the session for
// client-go.
bool IsUnknownChannel(const Status& decode_error);

// Validates a v5 close message (first byte 0xFF): exactly 2 bytes, channel < 5.
// "close message must be 2 bytes, got N" / "close message for unknown channel N".
Status ValidateClose(std::string_view message);

// Strict standard base64 with padding (RFC 4648 section 4). No whitespace, no missing padding,
// no non-zero trailing bits: exactly the strings Base64Encode produces. (Go's StdEncoding, which
// the servers use, also skips \r and \n and ignores trailing bits; we are stricter.)
// Base64Encode appends to *out. Base64Decode replaces *out; returns false (and clears *out) on
// any deviation.
void Base64Encode(std::string_view in, std::string* out);
bool Base64Decode(std::string_view in, std::string* out);

// --- resize (channel 4) ---
struct TerminalSize {
  uint16_t width = 0;
  uint16_t height = 0;
  friend bool operator==(const TerminalSize&, const TerminalSize&) = default;
};
// {"Width":W,"Height":H}\n exactly as client-go's json.Encoder writes it.
std::string EncodeResize(TerminalSize size);

// Channel 4 is a concatenated JSON stream: objects may be joined in one frame or split across
// frames, with whitespace between them. Decoded as Go's json.Decoder into struct{Width, Height
// uint16}: keys match case-insensitively, unknown keys are ignored, a missing or null field is 0,
// a top-level null is the size {0,0} (the runtime ignores sizes with a zero), a value must be a
// plain decimal integer 0-65535. Errors (Status::Protocol):
//   "resize Width must be an integer 0-65535, got 70000"  (or "got -1", "got 1.5", "got a string",
//                                                          "got true", "got an object", ...)
//   "resize message is not a json object"
//   "invalid resize json: <Boost.JSON's message>"           (syntax errors)
// No allocation per object. Not thread-safe.
class ResizeStreamParser {
 public:
  ResizeStreamParser();
  ~ResizeStreamParser();
  ResizeStreamParser(const ResizeStreamParser&) = delete;
  ResizeStreamParser& operator=(const ResizeStreamParser&) = delete;
  // Appends every size completed by `bytes` to *out. After an error the parser stays failed (as
  // the Go server stops resize handling) and returns the same error.
  Status Feed(std::string_view bytes, std::vector<TerminalSize>* out);

 private:
  struct Impl;
  Impl* impl_;
};

// --- status (channel 3) ---
struct RemoteStatus {
  enum class Kind : uint8_t {
    kNone,      // no channel-3 data at all: success for client-go, flagged in the recording
    kSuccess,   // v4/v5 Success, or pre-v4 empty
    kExitCode,  // v4/v5 NonZeroExitCode with an ExitCode cause
    kFailure,   // any other failure; message kept
  };
  Kind kind = Kind::kNone;
  int exit_code = 0;    // the process's code (kExitCode); 0 for success; 1 for kFailure
  std::string message;  // Status.message, or the pre-v4 plain text
  std::string reason;   // Status.reason ("NonZeroExitCode", "InternalError", ...)
  int code = 0;         // Status.code (HTTP-like), 0 when absent
};

// Parses everything received on channel 3 (all decoded payloads concatenated, in order), as
// client-go does: v4/v5 JSON (keys case-insensitive; a Failure that is not NonZeroExitCode is
// kFailure with exit_code 1; NonZeroExitCode needs a cause with reason "ExitCode" whose message
// is strconv.ParseUint(msg, 10, 8)); pre-v4: empty = kSuccess, any text = kFailure with the raw
// text as message. v4/v5 with no data at all = kNone. ParseStatus(kV5, body) also reads the Status
// body of an HTTP error answered instead of the 101 (message, reason and code kept).
// Errors (Status::Protocol): "unparseable status: <detail>" (e.g. "unparseable status: syntax
// error at byte 12", "... not a json object", "... status is \"X\", not Success or Failure",
// "... field \"code\" is not a 32-bit integer"), "status without an ExitCode cause",
// "exit code out of range: \"256\" (must be decimal 0-255)".
Result<RemoteStatus> ParseStatus(Subprotocol p, std::string_view accumulated);

}  // namespace podtape::codec

#endif  // PODTAPE_RECORDER_CHANNEL_CODEC_H_
