#include "player/search.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

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

// Puts the commands and the output lines, each produced in time order but with its own lag, into
// one sequence in session time, holding back no more than it must (and at most
// kMaxHeldIndexEntries of each kind: past that, order gives way to memory).
class EntryMerger {
 public:
  explicit EntryMerger(const IndexEntrySink& sink) : sink_(sink) {}

  void AddCommand(int64_t t_ns, std::string text) {
    commands_.push_back({t_ns, store::IndexKind::kCommand, std::move(text)});
  }
  void AddLine(int64_t t_ns, std::string text) {
    if (text.find_first_not_of(" \t") == std::string::npos) return;
    CutUtf8(&text, kMaxIndexedLineBytes);
    lines_.push_back({t_ns, store::IndexKind::kOutput, std::move(text)});
  }

  // Passes on what nothing can precede any more: no command still to come is earlier than
  // `command_watermark`. (Output lines have no such bound: commands wait for them.)
  Status Drain(int64_t command_watermark) {
    for (;;) {
      if (!commands_.empty() && !lines_.empty()) {
        PODTAPE_RETURN_IF_ERROR(lines_.front().t_ns < commands_.front().t_ns ? Pop(&lines_)
                                                                             : Pop(&commands_));
      } else if (!lines_.empty() && (lines_.front().t_ns < command_watermark ||
                                     lines_.size() > kMaxHeldIndexEntries)) {
        PODTAPE_RETURN_IF_ERROR(Pop(&lines_));
      } else if (commands_.size() > kMaxHeldIndexEntries) {
        PODTAPE_RETURN_IF_ERROR(Pop(&commands_));
      } else {
        return Status::OK();
      }
    }
  }

  Status Flush() {
    PODTAPE_RETURN_IF_ERROR(Drain(INT64_MAX));
    while (!commands_.empty()) PODTAPE_RETURN_IF_ERROR(Pop(&commands_));
    return Status::OK();
  }

 private:
  Status Pop(std::deque<store::IndexEntry>* q) {
    Status st = sink_(q->front());
    q->pop_front();
    return st;
  }

  const IndexEntrySink& sink_;
  std::deque<store::IndexEntry> commands_, lines_;
};

// Receives the txt renderer's "[offset] text\n" lines and turns them into entries.
class RenderedLines : public ByteSink {
 public:
  explicit RenderedLines(EntryMerger* out) : out_(out) {}
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
      out_->AddLine(t_ns, std::string(text));
      line_.clear();
    }
    return Status::OK();
  }

 private:
  EntryMerger* out_;
  std::string line_;
};

}  // namespace

Status BuildIndexEntries(store::Store& store, const store::SessionRow& row,
                         const IndexEntrySink& sink) {
  EntryMerger merger(sink);
  CommandExtractor commands_x(CommandExtractor::ForSession(row), [&](const IndexedCommand& c) {
    merger.AddCommand(c.t_ns, c.text);
    return Status::OK();
  });
  RenderedLines rendered(&merger);
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
      merger.AddLine(plain_t_ns, std::move(plain));
      plain.clear();
      plain_t_ns = -1;
    }
    return Status::OK();
  });
  PODTAPE_RETURN_IF_ERROR(store.ReadFrames(row.meta.id, [&](const store::FrameView& f) {
    PODTAPE_RETURN_IF_ERROR(commands_x.OnFrame(f));
    PODTAPE_RETURN_IF_ERROR(events.OnFrame(f));
    return merger.Drain(commands_x.Watermark());
  }));
  PODTAPE_RETURN_IF_ERROR(commands_x.Finish());
  PODTAPE_RETURN_IF_ERROR(events.Finish(std::nullopt, events.last_t_ns()));
  if (txt) {
    PODTAPE_RETURN_IF_ERROR(txt->Finish());
  } else if (!plain.empty()) {
    merger.AddLine(plain_t_ns, std::move(plain));
  }
  return merger.Flush();
}

namespace {

// Paces an indexer that yields to recorders (see kYieldSleepPerWork). Not thread-safe.
class RecorderYield {
 public:
  RecorderYield(store::Store& store, bool on) : store_(store), on_(on) {}
  // Called once per index entry produced.
  void Entry() {
    if (!on_ || ++entries_ < kYieldEveryEntries) return;
    entries_ = 0;
    const auto now = std::chrono::steady_clock::now();
    if (store::AnySessionRecording(store_)) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          (now - work_start_) * kYieldSleepPerWork, kYieldMaxSleep));
    }
    work_start_ = std::chrono::steady_clock::now();
  }

 private:
  store::Store& store_;
  const bool on_;
  int entries_ = 0;
  std::chrono::steady_clock::time_point work_start_ = std::chrono::steady_clock::now();
};

}  // namespace

Result<IndexRun> IndexPendingSessions(store::Store& store, std::chrono::milliseconds wait,
                                      bool yield_to_recorders) {
  IndexRun run;
  RecorderYield yield(store, yield_to_recorders);
  Result<store::IndexerLock> lock = store::IndexerLock::Acquire(store, wait);
  if (!lock.ok()) return lock.status();
  if (!lock->held()) {
    run.busy = true;
    return run;
  }
  // Again until nothing is left: a session that ended while this ran may have found the lock
  // taken and left its indexing to us.
  for (bool again = true; again;) {
    again = false;
    Result<std::vector<std::string>> ids = store::UnindexedSessions(store);
    if (!ids.ok()) return ids.status();
    for (const std::string& id : *ids) {
      Result<store::SessionRow> row = store.Find(id);
      if (!row.ok()) {
        if (row.status().code() == Status::Code::kNotFound) continue;  // pruned meanwhile
        return row.status();
      }
      auto writer = store::SessionIndexWriter::Begin(store, id);
      if (!writer.ok()) {
        if (writer.status().code() == Status::Code::kNotFound) continue;
        return writer.status().WithContext("indexing session " + row->short_id);
      }
      if (*writer == nullptr) continue;  // indexed meanwhile
      Status st = BuildIndexEntries(store, *row, [&](const store::IndexEntry& e) {
        yield.Entry();
        return (*writer)->Add(e.t_ns, e.kind, e.text);
      });
      if (st.ok()) st = (*writer)->Finish();
      if (!st.ok()) {
        if (st.code() == Status::Code::kNotFound) continue;
        return st.WithContext("indexing session " + row->short_id);
      }
      ++run.indexed;
      again = true;
    }
  }
  return run;
}

}  // namespace podtape::player
