// asciicast import (player/asciicast.h reader, player/import.h ImportCast), v2 and v3.
// The bytes are read twice: by AsciicastReader alone, then by ImportCast into a :memory: store,
// whose frames for that session are read back and compared with the reader's events.
// Input: the whole .cast file.
#include <fmt/format.h>

#include <memory>
#include <sstream>
#include <vector>

#include "fuzz/harness.h"
#include "player/asciicast.h"
#include "player/frame_events.h"
#include "player/import.h"
#include "recorder/channel_codec.h"
#include "schema/store.h"

namespace podtape::fuzz {
namespace {

struct ExpectedFrame {
  int64_t t_ns;
  store::Direction direction;
  uint8_t channel;
  std::string payload;  // checked for o, i, m; a resize is checked by its channel only
};

}  // namespace

std::string FuzzAsciicastImport(Input data) {
  const std::string text(reinterpret_cast<const char*>(data.data()), data.size());

  // The reader alone: events in time order, o and i data valid UTF-8.
  std::vector<ExpectedFrame> frames;
  int64_t events = 0;
  int skipped = 0;
  bool read_ok = false;
  {
    std::istringstream in(text);
    auto reader = player::AsciicastReader::Open(&in, "fuzz.cast");
    if (reader.ok()) {
      int64_t last_t = 0;
      std::string broken;
      const Status st = (*reader)->ReadEvents([&](const player::Event& e) {
        ++events;
        if (e.t_ns < last_t && broken.empty()) {
          broken = fmt::format("event {} goes back in time ({} < {})", events, e.t_ns, last_t);
        }
        last_t = e.t_ns;
        switch (e.type) {
          case player::EventType::kOutput:
          case player::EventType::kInput:
            if (!IsValidUtf8(e.data) && broken.empty()) {
              broken = fmt::format("event {} has invalid UTF-8", events);
            }
            frames.push_back({e.t_ns,
                              e.type == player::EventType::kOutput ? store::Direction::kFromServer
                                                                   : store::Direction::kToServer,
                              e.type == player::EventType::kOutput ? codec::kStdout : codec::kStdin,
                              std::string(e.data)});
            break;
          case player::EventType::kMarker:
            frames.push_back({e.t_ns, store::Direction::kFromServer, player::kMarkerChannel,
                              std::string(e.data)});
            break;
          case player::EventType::kResize:
            frames.push_back({e.t_ns, store::Direction::kToServer, codec::kResize, ""});
            break;
          case player::EventType::kExit:
            break;
        }
        return Status::OK();
      });
      if (!broken.empty()) return broken;
      read_ok = st.ok();
      skipped = (*reader)->skipped();
    }
  }

  // Opening a :memory: store (the schema, its indexes) costs more than most imports, so one is
  // shared by 256 inputs; each import is its own session, checked by its id alone.
  static std::unique_ptr<store::Store> shared;
  static int uses = 0;
  if (shared == nullptr || ++uses % 256 == 0) {
    shared.reset();
    auto opened = store::Store::Open(":memory:");
    if (!opened.ok()) return "cannot open a :memory: store: " + opened.status().message();
    shared = std::move(*opened);
  }
  store::Store& db = *shared;
  std::istringstream in(text);
  store::SessionMeta base;
  base.local_user = "fuzz";
  base.host = "fuzz";
  Result<player::ImportResult> imported =
      player::ImportCast(&in, "fuzz.cast", db, base, 1'700'000'000'000'000'000);
  if (!imported.ok()) {
    if (imported.status().message().empty()) return "an import error without a message";
    return "";
  }
  if (!read_ok) return "imported a file the reader refuses";
  if (imported->events != events || imported->skipped != skipped) {
    return fmt::format("import counted {} events ({} skipped), the reader {} ({})",
                       imported->events, imported->skipped, events, skipped);
  }
  Result<store::SessionRow> row = db.Find(imported->session_id);
  if (!row.ok()) return "the imported session is not found: " + row.status().message();
  if (row->meta.kind != "import" || !row->ended || row->end_reason != "completed") {
    return "the imported session is not a completed import";
  }
  if (row->frames != static_cast<int64_t>(frames.size())) {
    return fmt::format("{} frames stored, {} events", row->frames, frames.size());
  }
  size_t i = 0;
  std::string broken;
  const Status st = db.ReadFrames(imported->session_id, [&](const store::FrameView& f) {
    if (i >= frames.size()) {
      broken = "more frames than events";
      return Status::OK();
    }
    const ExpectedFrame& want = frames[i++];
    if (f.t_ns != want.t_ns || f.direction != want.direction || f.channel != want.channel ||
        (want.channel != codec::kResize && f.payload != want.payload)) {
      if (broken.empty()) broken = fmt::format("frame {} differs from its event", i - 1);
    }
    return Status::OK();
  });
  if (!st.ok()) return "reading the import back failed: " + st.message();
  if (!broken.empty()) return broken;
  if (i != frames.size()) return "fewer frames than events";
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzAsciicastImport)
