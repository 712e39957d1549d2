// The channel decoder (recorder/channel_codec.h) on arbitrary messages.
// Input: [mode][message...]. mode bits 0-2: the subprotocol (mod 6); bit 3: from the server;
// bit 4: a text frame; bits 5-7: the channel of the encode round trip (mod 5).
#include <fmt/format.h>

#include "fuzz/harness.h"
#include "recorder/channel_codec.h"

namespace podtape::fuzz {

using codec::Subprotocol;

std::string FuzzChannelCodec(Input data) {
  static constexpr Subprotocol kProtocols[] = {Subprotocol::kNone,     Subprotocol::kV1,
                                               Subprotocol::kV1Base64, Subprotocol::kV4,
                                               Subprotocol::kV4Base64, Subprotocol::kV5};
  ByteReader in(data);
  const uint8_t mode = in.U8();
  const Subprotocol p = kProtocols[(mode & 7) % 6];
  const codec::Sender sender = mode & 8 ? codec::Sender::kServer : codec::Sender::kClient;
  const codec::FrameType type = mode & 16 ? codec::FrameType::kText : codec::FrameType::kBinary;
  const std::string_view message = in.Rest();
  const std::string name = fmt::format("{}/{}/{}", codec::SubprotocolName(p),
                                       sender == codec::Sender::kServer ? "server" : "client",
                                       type == codec::FrameType::kText ? "text" : "binary");

  std::string scratch;
  codec::DecodedMessage out;
  const Status st = codec::DecodeMessage(p, sender, type, message, &scratch, &out);
  if (!st.ok()) {
    if (st.code() != Status::Code::kProtocol || st.message().empty()) {
      return name + ": a decode error that is not a Status::Protocol with a message";
    }
    (void)codec::IsUnknownChannel(st);
  } else if (out.channel == codec::kClose) {
    if (p != Subprotocol::kV5 || sender != codec::Sender::kClient) {
      return name + ": a close signal accepted outside v5 from a client";
    }
    if (!codec::ValidateClose(message).ok() || out.payload != message.substr(1)) {
      return name + ": an accepted close signal that ValidateClose refuses";
    }
  } else if (out.channel > 4) {
    return name + fmt::format(": decoded channel {}", out.channel);
  } else if (sender == codec::Sender::kServer && type != codec::FrameTypeFor(p)) {
    return name + ": a server frame of the wrong type accepted";
  } else if (!codec::IsBase64(p)) {
    // Binary: no copy, the payload is the message after the channel byte.
    if (static_cast<uint8_t>(message[0]) != out.channel ||
        out.payload.data() != message.data() + 1 || out.payload.size() != message.size() - 1) {
      return name + ": binary payload is not the message after its channel byte";
    }
  } else {
    // Base64 is strict, so encoding the payload again gives back the message exactly.
    std::string again;
    codec::EncodeMessage(p, out.channel, out.payload, &again);
    if (again != message) return name + ": base64 message does not re-encode to itself";
  }

  // Round trip: any payload on any data channel survives encode then decode.
  const uint8_t channel = static_cast<uint8_t>((mode >> 5) % 5);
  std::string wire;
  codec::EncodeMessage(p, channel, message, &wire);
  codec::DecodedMessage back;
  std::string scratch2;
  const Status rt = codec::DecodeMessage(p, codec::Sender::kServer, codec::FrameTypeFor(p), wire,
                                         &scratch2, &back);
  if (!rt.ok()) return name + ": an encoded message does not decode: " + rt.message();
  if (back.channel != channel || back.payload != message) {
    return name + ": encode/decode round trip changed the message";
  }

  // Strict base64: whatever decodes is exactly what encoding gives back.
  std::string decoded;
  if (codec::Base64Decode(message, &decoded)) {
    std::string encoded;
    codec::Base64Encode(decoded, &encoded);
    if (encoded != message) return "Base64Decode accepted a non-canonical string";
  } else if (!decoded.empty()) {
    return "Base64Decode failed without clearing its output";
  }
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzChannelCodec)
