#include "player/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace podtape::player {
namespace {
constexpr double kMinSpeed = 1.0 / 64;
constexpr double kMaxSpeed = 64;
// '[' within this long after a marker goes to the one before it (as media players do).
constexpr int64_t kBackSlackNs = 1'000'000'000;
// Output drawn at once (seeking) goes out in writes of about this size: one write per event
// would be slow, one write for everything would hold the whole session in memory.
constexpr size_t kBatchBytes = 64 * 1024;
}  // namespace

Replayer::Replayer(EventSource* source, ReplayOptions options, PlaybackIo* io)
    : source_(source), options_(options), io_(io) {
  speed_ = options_.speed > 0 ? options_.speed : 1.0;
}

bool Replayer::AtEnd() const {
  if (!pending_) return true;
  return options_.to_ns && pending_->event.t_ns > *options_.to_ns;
}

std::string Replayer::ResizeRequest(int cols, int rows) const {
  return fmt::format("\x1b[8;{};{}t", rows, cols);
}

Status Replayer::Fetch() {
  std::optional<Event> e;
  do {
    Status st = source_->Next(&e);
    if (!st.ok()) {
      pending_.reset();
      return st;
    }
  } while (e && !IsPlayable(e->type));
  if (!e) {
    pending_.reset();
    return Status::OK();
  }
  const int64_t t = std::max(e->t_ns, prev_t_);
  int64_t gap = t - prev_t_;
  if (options_.idle_limit_ns && gap > *options_.idle_limit_ns) gap = *options_.idle_limit_ns;
  prev_v_ += gap;
  prev_t_ = t;
  pending_ = Pending{Event{t, e->type, e->data}, fetched_++, prev_v_};
  if (e->type == EventType::kMarker &&
      (markers_.empty() || markers_.back().index < pending_->index)) {
    markers_.push_back({pending_->index, pending_->v_ns});
  }
  return Status::OK();
}

Status Replayer::Rewind() {
  PODTAPE_RETURN_IF_ERROR(source_->Rewind());
  pending_.reset();
  fetched_ = 0;
  prev_t_ = prev_v_ = 0;
  last_t_ = last_v_ = 0;
  return Fetch();
}

Status Replayer::Consume(std::string* batch) {
  const Event& e = pending_->event;
  std::string resize;
  std::string_view bytes;
  if (e.type == EventType::kOutput) {
    ++stats_.events_written;
    bytes = e.data;
  } else if (e.type == EventType::kResize) {
    int cols = 0, rows = 0;
    if (ParseSize(e.data, &cols, &rows)) {
      stats_.max_cols = std::max(stats_.max_cols, cols);
      stats_.max_rows = std::max(stats_.max_rows, rows);
      if (options_.resize) {
        resize = ResizeRequest(cols, rows);
        bytes = resize;
      }
    }
  }
  if (!bytes.empty()) {
    if (batch) {
      batch->append(bytes);
    } else {
      PODTAPE_RETURN_IF_ERROR(io_->Write(bytes));
    }
  }
  last_t_ = e.t_ns;
  last_v_ = pending_->v_ns;
  return Fetch();
}

Status Replayer::FlushBatch() {
  if (batch_.empty()) return Status::OK();
  Status st = io_->Write(batch_);
  batch_.clear();
  return st;
}

template <typename Pred>
Status Replayer::Catchup(Pred before) {
  batch_.clear();
  while (!AtEnd() && before(*pending_)) {
    PODTAPE_RETURN_IF_ERROR(Consume(&batch_));
    if (batch_.size() >= kBatchBytes) PODTAPE_RETURN_IF_ERROR(FlushBatch());
  }
  return FlushBatch();
}

Status Replayer::Restart(int64_t through_index) {
  PODTAPE_RETURN_IF_ERROR(io_->Write(kClearScreen));
  if (options_.resize && options_.cols > 0 && options_.rows > 0) {
    PODTAPE_RETURN_IF_ERROR(io_->Write(ResizeRequest(options_.cols, options_.rows)));
  }
  PODTAPE_RETURN_IF_ERROR(Rewind());
  return Catchup([through_index](const Pending& p) { return p.index <= through_index; });
}

Status Replayer::RestartAtFrom() {
  if (!options_.from_ns) {
    start_v_ = 0;
    return Status::OK();
  }
  const int64_t from = *options_.from_ns;
  PODTAPE_RETURN_IF_ERROR(Catchup([from](const Pending& p) { return p.event.t_ns < from; }));
  // The playback time of `from`: the idle limit applies to the part after the last event drawn.
  int64_t gap = std::max<int64_t>(from - last_t_, 0);
  if (options_.idle_limit_ns && gap > *options_.idle_limit_ns) gap = *options_.idle_limit_ns;
  start_v_ = last_v_ + gap;
  return Status::OK();
}

void Replayer::Anchor(int64_t v_ns) {
  anchor_wall_ = io_->NowNs();
  anchor_v_ = v_ns;
}

int64_t Replayer::CurrentV() {
  if (paused_) return paused_v_;
  const int64_t elapsed = io_->NowNs() - anchor_wall_;
  int64_t v = anchor_v_ + static_cast<int64_t>(std::llround(static_cast<double>(elapsed) * speed_));
  // Never past the next event still to be written.
  if (pending_) v = std::min(v, pending_->v_ns);
  return v;
}

int64_t Replayer::DeadlineOf(int64_t v_ns) const {
  return anchor_wall_ + ScaleBySpeed(v_ns - anchor_v_, speed_);
}

Status Replayer::OnKey(char key, bool* quit) {
  switch (key) {
    case 'q':
    case 'Q':
    case 0x03:  // Ctrl-C in raw mode
    case 0x04:
      *quit = true;
      return Status::OK();
    case ' ':
      if (paused_) {
        paused_ = false;
        Anchor(paused_v_);
      } else {
        paused_v_ = CurrentV();
        paused_ = true;
      }
      return Status::OK();
    case '.':
      if (!paused_) return Status::OK();
      // One output event (with the markers and resizes before it).
      while (!AtEnd()) {
        const bool output = pending_->event.type == EventType::kOutput;
        paused_v_ = pending_->v_ns;
        PODTAPE_RETURN_IF_ERROR(Consume(nullptr));
        if (output) break;
      }
      return Status::OK();
    case '+':
    case '=':
    case '-':
    case '_': {
      const int64_t v = CurrentV();
      speed_ = (key == '+' || key == '=') ? std::min(speed_ * 2, kMaxSpeed)
                                          : std::max(speed_ / 2, kMinSpeed);
      if (!paused_) Anchor(v);
      return Status::OK();
    }
    case ']': {
      // Everything before the next marker at once, then on from the marker.
      PODTAPE_RETURN_IF_ERROR(
          Catchup([](const Pending& p) { return p.event.type != EventType::kMarker; }));
      int64_t v = last_v_;
      if (!AtEnd()) {
        v = pending_->v_ns;
        PODTAPE_RETURN_IF_ERROR(Consume(nullptr));
      }
      if (paused_) {
        paused_v_ = v;
      } else {
        Anchor(v);
      }
      return Status::OK();
    }
    case '[': {
      const int64_t now_v = CurrentV();
      const int64_t next_index = pending_ ? pending_->index : fetched_;
      // The last marker passed, or the one before it when it was passed less than a moment ago.
      auto it = std::lower_bound(markers_.begin(), markers_.end(), next_index,
                                 [](const MarkerPos& m, int64_t index) { return m.index < index; });
      std::optional<MarkerPos> m;
      if (it != markers_.begin()) m = *(it - 1);
      if (m && now_v - m->v_ns < kBackSlackNs) {
        --it;
        m.reset();
        if (it != markers_.begin()) m = *(it - 1);
      }
      PODTAPE_RETURN_IF_ERROR(Restart(m ? m->index : -1));
      const int64_t v = m ? m->v_ns : 0;
      if (paused_) {
        paused_v_ = v;
      } else {
        Anchor(v);
      }
      return Status::OK();
    }
    default:
      return Status::OK();
  }
}

Status Replayer::Run() {
  if (options_.resize && options_.cols > 0 && options_.rows > 0) {
    PODTAPE_RETURN_IF_ERROR(io_->Write(ResizeRequest(options_.cols, options_.rows)));
  }
  PODTAPE_RETURN_IF_ERROR(Fetch());
  PODTAPE_RETURN_IF_ERROR(RestartAtFrom());
  Anchor(start_v_);
  while (true) {
    if (AtEnd() && !paused_) {
      if (!options_.loop) return Status::OK();
      // Play the tail's silence? No: loop at once, as asciinema does.
      ++stats_.loops;
      PODTAPE_RETURN_IF_ERROR(io_->Write(kClearScreen));
      if (options_.resize && options_.cols > 0 && options_.rows > 0) {
        PODTAPE_RETURN_IF_ERROR(io_->Write(ResizeRequest(options_.cols, options_.rows)));
      }
      PODTAPE_RETURN_IF_ERROR(Rewind());
      PODTAPE_RETURN_IF_ERROR(RestartAtFrom());
      Anchor(start_v_);
      continue;
    }
    std::optional<char> key;
    if (paused_) {
      key = io_->WaitKey(PlaybackIo::kForever);
      if (!key) {
        // No keyboard: a pause could never end, so resume at once.
        paused_ = false;
        Anchor(paused_v_);
        continue;
      }
    } else {
      key = io_->WaitKey(DeadlineOf(pending_->v_ns));
    }
    if (key) {
      bool quit = false;
      PODTAPE_RETURN_IF_ERROR(OnKey(*key, &quit));
      if (quit) {
        stats_.quit = true;
        return Status::OK();
      }
      continue;
    }
    const bool marker = pending_->event.type == EventType::kMarker;
    const int64_t v = pending_->v_ns;
    PODTAPE_RETURN_IF_ERROR(Consume(nullptr));
    if (marker && options_.pause_on_markers) {
      paused_ = true;
      paused_v_ = v;
    }
  }
}

}  // namespace podtape::player
