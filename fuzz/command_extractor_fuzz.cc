// The command extractor (player/command_index.h CommandExtractor) over a session made of the
// bytes: output, keystrokes, resizes, status and close frames in any order and cut anywhere.
// Input: [flags][cols][rows] then frames [op][length][payload...]. flags bit 0: a TTY session;
// bit 1: an exec argv (its one argument is the next 0-15 bytes). op bits 0-2: the frame kind
// (stdout, stderr, stdin, stdin, resize stream bytes, a resize of [w][h] (1-256 each), status,
// the v5 close / an import marker), bits 3-7: the time step in milliseconds.
#include <fmt/format.h>

#include <vector>

#include "fuzz/harness.h"
#include "player/command_index.h"
#include "player/frame_events.h"
#include "recorder/channel_codec.h"

namespace podtape::fuzz {

std::string FuzzCommandExtractor(Input data) {
  ByteReader in(data);
  const uint8_t flags = in.U8();
  player::CommandExtractor::Options options;
  options.tty = flags & 1;
  options.cols = in.U8();
  options.rows = in.U8();
  if (flags & 2) options.argv = {"sh", "-c", std::string(in.Take(in.U8() % 16))};

  std::vector<player::IndexedCommand> commands;
  player::CommandExtractor x(options, [&](const player::IndexedCommand& c) {
    commands.push_back(c);
    return Status::OK();
  });
  int64_t t_ns = 0;
  int64_t seq = 0;
  std::string resize;
  while (!in.empty()) {
    const uint8_t op = in.U8();
    t_ns += static_cast<int64_t>(op >> 3) * 1'000'000;
    std::string_view payload = in.Take(in.U8());
    store::FrameView f{seq++, t_ns, store::Direction::kFromServer, codec::kStdout, payload, {}};
    switch (op & 7) {
      case 0:
        break;
      case 1:
        f.channel = codec::kStderr;
        break;
      case 2:
      case 3:
        f.direction = store::Direction::kToServer;
        f.channel = codec::kStdin;
        break;
      case 4:
        f.direction = store::Direction::kToServer;
        f.channel = codec::kResize;
        break;
      case 5: {
        const uint16_t w =
            static_cast<uint16_t>(1 + (payload.size() > 0 ? uint8_t(payload[0]) : 0));
        const uint16_t h =
            static_cast<uint16_t>(1 + (payload.size() > 1 ? uint8_t(payload[1]) : 0));
        resize = codec::EncodeResize({w, h});
        f.direction = store::Direction::kToServer;
        f.channel = codec::kResize;
        f.payload = resize;
        break;
      }
      case 6:
        f.channel = codec::kError;
        break;
      case 7:
        f.channel = 255;
        if (payload.size() == 2) f.direction = store::Direction::kToServer;  // a close signal
        break;
    }
    const Status st = x.OnFrame(f);
    if (!st.ok()) return "OnFrame failed: " + st.message();
  }
  const Status st = x.Finish();
  if (!st.ok()) return "Finish failed: " + st.message();

  size_t first = 0;
  if (!options.argv.empty()) {
    if (commands.empty() || commands[0].t_ns != 0 ||
        commands[0].text != player::JoinArgv(options.argv)) {
      return "the exec argv is not the first command";
    }
    first = 1;
  }
  int64_t last_t = 0;
  for (size_t i = first; i < commands.size(); ++i) {
    const player::IndexedCommand& c = commands[i];
    if (c.text.empty()) return fmt::format("command {} is empty", i);
    if (c.t_ns < last_t) return fmt::format("command {} goes back in time", i);
    if (c.t_ns > t_ns) return fmt::format("command {} is after the last frame", i);
    last_t = c.t_ns;
    if (!IsValidUtf8(c.text)) return fmt::format("command {} is not valid UTF-8", i);
    if (c.text.find('\n') != std::string::npos) return fmt::format("command {} is not one line", i);
  }
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzCommandExtractor)
