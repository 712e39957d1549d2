#include "player/import.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "player/asciicast.h"
#include "player/frame_events.h"
#include "player/timeline.h"
#include "recorder/channel_codec.h"

namespace podtape::player {

Result<ImportResult> ImportCast(std::istream* in, const std::string& name, store::Store& store,
                                store::SessionMeta base, int64_t now_ns) {
  auto reader = AsciicastReader::Open(in, name);
  if (!reader.ok()) return reader.status();
  const CastHeader& h = (*reader)->header();
  store::SessionMeta meta = std::move(base);
  meta.id.clear();
  meta.kind = "import";
  meta.started_at_ns = h.timestamp_s > 0 ? h.timestamp_s * 1'000'000'000 : now_ns;
  meta.term_cols = h.cols;
  meta.term_rows = h.rows;
  meta.term_type = h.term_type;
  meta.title = h.title.empty() ? name : h.title;
  meta.command.clear();
  if (!h.command.empty()) meta.command.push_back(h.command);
  meta.tty = true;
  if (meta.user_source.empty()) meta.user_source = "none";

  auto writer = store::SessionWriter::Start(store, meta);
  if (!writer.ok()) return writer.status();
  store::SessionWriter& w = **writer;
  ImportResult result;
  result.session_id = w.id();
  std::optional<int> exit_code;
  int64_t last_t = 0;
  Status st = (*reader)->ReadEvents([&](const Event& e) {
    ++result.events;
    last_t = std::max(last_t, e.t_ns);
    switch (e.type) {
      case EventType::kOutput:
        return w.Append(e.t_ns, store::Direction::kFromServer, codec::kStdout, e.data);
      case EventType::kInput:
        return w.Append(e.t_ns, store::Direction::kToServer, codec::kStdin, e.data);
      case EventType::kMarker:
        return w.Append(e.t_ns, store::Direction::kFromServer, kMarkerChannel, e.data);
      case EventType::kResize: {
        int cols = 0, rows = 0;
        if (!ParseSize(e.data, &cols, &rows) || cols > 65535 || rows > 65535) {
          return Status::Corruption(
              fmt::format("{}: resize event '{}' is not COLSxROWS", name, e.data));
        }
        return w.Append(
            e.t_ns, store::Direction::kToServer, codec::kResize,
            codec::EncodeResize({static_cast<uint16_t>(cols), static_cast<uint16_t>(rows)}));
      }
      case EventType::kExit: {
        int code = 0;
        auto [p, ec] = std::from_chars(e.data.data(), e.data.data() + e.data.size(), code);
        if (ec != std::errc() || p != e.data.data() + e.data.size()) {
          return Status::Corruption(
              fmt::format("{}: exit event '{}' is not a number", name, e.data));
        }
        exit_code = code;
        return Status::OK();
      }
    }
    return Status::OK();
  });
  store::SessionEnd end;
  // Saturated: a start near 2262 plus a long cast must not overflow.
  end.ended_at_ns = last_t > std::numeric_limits<int64_t>::max() - meta.started_at_ns
                        ? std::numeric_limits<int64_t>::max()
                        : meta.started_at_ns + last_t;
  end.exit_code = exit_code;
  if (!st.ok()) {
    end.end_reason = "error";
    end.error = st.message();
    (void)w.Finish(end);
    return st;
  }
  PODTAPE_RETURN_IF_ERROR(w.Finish(end));
  result.skipped = (*reader)->skipped();
  return result;
}

}  // namespace podtape::player
