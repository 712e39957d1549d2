#include "player/search.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

#include "player/command_index.h"
#include "player/frame_events.h"
#include "player/output.h"
#include "player/time_spec.h"
#include "player/txt_render.h"

namespace podtape::player {
namespace {

// Cuts `s` to at most `max` bytes without splitting a UTF-8 character.
void CutUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
}

void AddLine(std::vector<store::IndexEntry>* out, int64_t t_ns, std::string text) {
  if (text.find_first_not_of(" \t") == std::string::npos) return;
  CutUtf8(&text, kMaxIndexedLineBytes);
  out->push_back({t_ns, store::IndexKind::kOutput, std::move(text)});
}

// Receives the txt renderer's "[offset] text\n" lines and turns them into entries.
class RenderedLines : public ByteSink {
 public:
  explicit RenderedLines(std::vector<store::IndexEntry>* out) : out_(out) {}
  Status Write(std::string_view bytes) override {
    for (char c : bytes) {
      if (c != '\n') {
        line_ += c;
        continue;
      }
      int64_t t_ns = 0;
      std::string_view text = line_;
      size_t close = text.find("] ");
      if (!text.empty() && text[0] == '[' && close != std::string_view::npos) {
        Result<int64_t> t = ParseOffset(text.substr(1, close - 1));
        if (t.ok()) t_ns = *t;
        text.remove_prefix(close + 2);
      }
      AddLine(out_, t_ns, std::string(text));
      line_.clear();
    }
    return Status::OK();
  }

 private:
  std::vector<store::IndexEntry>* out_;
  std::string line_;
};

}  // namespace

Result<std::vector<store::IndexEntry>> BuildIndexEntries(store::Store& store,
                                                         const store::SessionRow& row) {
  std::vector<store::IndexEntry> commands, lines;
  CommandExtractor commands_x(CommandExtractor::ForSession(row), [&](const IndexedCommand& c) {
    commands.push_back({c.t_ns, store::IndexKind::kCommand, c.text});
    return Status::OK();
  });
  RenderedLines rendered(&lines);
  std::unique_ptr<TxtRenderer> txt;
  if (row.meta.tty) {
    txt = std::make_unique<TxtRenderer>(row.meta.term_cols, row.meta.term_rows, true, &rendered);
  }
  std::string plain;  // non-TTY: the output line so far
  int64_t plain_t_ns = -1;
  FrameEventizer::Options eo = FrameEventizer::ForSession(row, false);
  eo.markers_from_input = false;
  FrameEventizer events(eo, [&](const Event& e) -> Status {
    if (txt) return txt->OnEvent(e);
    if (e.type != EventType::kOutput) return Status::OK();
    for (char c : e.data) {
      if (plain_t_ns < 0) plain_t_ns = e.t_ns;
      if (c != '\n') {
        plain += c;
        continue;
      }
      if (!plain.empty() && plain.back() == '\r') plain.pop_back();
      AddLine(&lines, plain_t_ns, std::move(plain));
      plain.clear();
      plain_t_ns = -1;
    }
    return Status::OK();
  });
  PODTAPE_RETURN_IF_ERROR(store.ReadFrames(row.meta.id, [&](const store::FrameView& f) {
    PODTAPE_RETURN_IF_ERROR(commands_x.OnFrame(f));
    return events.OnFrame(f);
  }));
  PODTAPE_RETURN_IF_ERROR(commands_x.Finish());
  PODTAPE_RETURN_IF_ERROR(events.Finish(std::nullopt, events.last_t_ns()));
  if (txt) {
    PODTAPE_RETURN_IF_ERROR(txt->Finish());
  } else if (!plain.empty()) {
    AddLine(&lines, plain_t_ns, std::move(plain));
  }
  // One sequence in session time (the index numbers entries in this order).
  std::vector<store::IndexEntry> all;
  all.reserve(commands.size() + lines.size());
  std::merge(std::make_move_iterator(commands.begin()), std::make_move_iterator(commands.end()),
             std::make_move_iterator(lines.begin()), std::make_move_iterator(lines.end()),
             std::back_inserter(all), [](const store::IndexEntry& a, const store::IndexEntry& b) {
               return a.t_ns < b.t_ns;
             });
  return all;
}

Result<int> IndexPendingSessions(store::Store& store) {
  Result<std::vector<std::string>> ids = store::UnindexedSessions(store);
  if (!ids.ok()) return ids.status();
  int n = 0;
  for (const std::string& id : *ids) {
    Result<store::SessionRow> row = store.Find(id);
    if (!row.ok()) {
      if (row.status().code() == Status::Code::kNotFound) continue;  // pruned meanwhile
      return row.status();
    }
    Result<std::vector<store::IndexEntry>> entries = BuildIndexEntries(store, *row);
    if (!entries.ok()) return entries.status().WithContext("indexing session " + row->short_id);
    Result<bool> wrote = store::WriteSessionIndex(store, id, *entries);
    if (!wrote.ok()) {
      if (wrote.status().code() == Status::Code::kNotFound) continue;
      return wrote.status().WithContext("indexing session " + row->short_id);
    }
    n += *wrote ? 1 : 0;
  }
  return n;
}

}  // namespace podtape::player
