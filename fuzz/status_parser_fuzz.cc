// The status parser (recorder/channel_codec.h ParseStatus): channel-3 bytes to an exit code.
// Input: [mode][accumulated channel-3 bytes...]; mode picks the subprotocol (mod 6).
#include <fmt/format.h>

#include "fuzz/harness.h"
#include "recorder/channel_codec.h"

namespace podtape::fuzz {

using codec::RemoteStatus;
using codec::Subprotocol;

std::string FuzzStatusParser(Input data) {
  static constexpr Subprotocol kProtocols[] = {Subprotocol::kNone,     Subprotocol::kV1,
                                               Subprotocol::kV1Base64, Subprotocol::kV4,
                                               Subprotocol::kV4Base64, Subprotocol::kV5};
  ByteReader in(data);
  const Subprotocol p = kProtocols[in.U8() % 6];
  const std::string_view body = in.Rest();
  const std::string name(codec::SubprotocolName(p));

  Result<RemoteStatus> r = codec::ParseStatus(p, body);
  if (!r.ok()) {
    const std::string& m = r.status().message();
    if (r.status().code() != Status::Code::kProtocol) return name + ": not a protocol error";
    if (!codec::HasJsonStatus(p)) return name + ": a pre-v4 status failed to parse: " + m;
    if (!m.starts_with("unparseable status: ") && m != "status without an ExitCode cause" &&
        !m.starts_with("exit code out of range: ")) {
      return name + ": an undocumented error: " + m;
    }
    return "";
  }
  const RemoteStatus& s = *r;
  switch (s.kind) {
    case RemoteStatus::Kind::kNone:
      if (!codec::HasJsonStatus(p) || !body.empty()) return name + ": kNone with data";
      if (s.exit_code != 0) return name + ": kNone with an exit code";
      break;
    case RemoteStatus::Kind::kSuccess:
      if (s.exit_code != 0) return name + fmt::format(": success with exit code {}", s.exit_code);
      if (!codec::HasJsonStatus(p) && !body.empty()) return name + ": pre-v4 text read as success";
      break;
    case RemoteStatus::Kind::kExitCode:
      if (!codec::HasJsonStatus(p)) return name + ": an exit code from a pre-v4 status";
      if (s.exit_code < 0 || s.exit_code > 255) {
        return name + fmt::format(": exit code {} out of 0-255", s.exit_code);
      }
      if (s.reason != "NonZeroExitCode") return name + ": exit code without NonZeroExitCode";
      break;
    case RemoteStatus::Kind::kFailure:
      if (s.exit_code != 1) return name + fmt::format(": failure with exit code {}", s.exit_code);
      if (!codec::HasJsonStatus(p) && s.message != body) {
        return name + ": pre-v4 failure message is not the text received";
      }
      break;
    default:
      return name + ": an unknown kind";
  }
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzStatusParser)
