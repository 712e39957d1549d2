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
}  // namespace

Replayer::Replayer(Timeline* timeline, ReplayOptions options, PlaybackIo* io)
    : timeline_(timeline), options_(options), io_(io) {
  timeline_->ApplyIdleLimit(options_.idle_limit_ns);
  speed_ = options_.speed > 0 ? options_.speed : 1.0;
  if (options_.from_ns) {
    start_idx_ = timeline_->IndexAtOrAfter(*options_.from_ns);
    start_v_ = timeline_->PlaybackTimeOf(*options_.from_ns);
  }
}

bool Replayer::AtEnd() const {
  if (idx_ >= timeline_->size()) return true;
  return options_.to_ns && (*timeline_)[idx_].t_ns > *options_.to_ns;
}

Status Replayer::WriteEvent(size_t i, std::string* batch) {
  const Timeline::Entry& e = (*timeline_)[i];
  std::string_view data = timeline_->data(i);
  if (e.type == EventType::kOutput) {
    ++stats_.events_written;
    if (batch) {
      batch->append(data);
      return Status::OK();
    }
    return io_->Write(data);
  }
  if (e.type == EventType::kResize && options_.resize) {
    int cols = 0, rows = 0;
    if (!ParseSize(data, &cols, &rows)) return Status::OK();
    std::string seq = fmt::format("\x1b[8;{};{}t", rows, cols);
    if (batch) {
      batch->append(seq);
      return Status::OK();
    }
    return io_->Write(seq);
  }
  return Status::OK();
}

Status Replayer::Catchup(size_t end) {
  batch_.clear();
  for (; idx_ < end; ++idx_) PODTAPE_RETURN_IF_ERROR(WriteEvent(idx_, &batch_));
  if (batch_.empty()) return Status::OK();
  return io_->Write(batch_);
}

Status Replayer::Restart(size_t target) {
  PODTAPE_RETURN_IF_ERROR(io_->Write(kClearScreen));
  idx_ = 0;
  if (options_.resize && options_.cols > 0 && options_.rows > 0) {
    PODTAPE_RETURN_IF_ERROR(io_->Write(fmt::format("\x1b[8;{};{}t", options_.rows, options_.cols)));
  }
  return Catchup(target);
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
  if (idx_ < timeline_->size()) v = std::min(v, (*timeline_)[idx_].v_ns);
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
        const bool output = (*timeline_)[idx_].type == EventType::kOutput;
        paused_v_ = (*timeline_)[idx_].v_ns;
        PODTAPE_RETURN_IF_ERROR(WriteEvent(idx_, nullptr));
        ++idx_;
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
      std::optional<size_t> m = timeline_->NextMarker(idx_ == 0 ? 0 : idx_ - 1);
      if (idx_ == 0 && !timeline_->empty() && (*timeline_)[0].type == EventType::kMarker) m = 0;
      if (!m) return Status::OK();
      PODTAPE_RETURN_IF_ERROR(Catchup(*m + 1));
      const int64_t v = (*timeline_)[*m].v_ns;
      if (paused_) {
        paused_v_ = v;
      } else {
        Anchor(v);
      }
      return Status::OK();
    }
    case '[': {
      const int64_t now_v = CurrentV();
      std::optional<size_t> m = timeline_->PrevMarker(idx_);
      if (m && now_v - (*timeline_)[*m].v_ns < kBackSlackNs) m = timeline_->PrevMarker(*m);
      const size_t target = m ? *m + 1 : 0;
      const int64_t v = m ? (*timeline_)[*m].v_ns : 0;
      PODTAPE_RETURN_IF_ERROR(Restart(target));
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
    PODTAPE_RETURN_IF_ERROR(io_->Write(fmt::format("\x1b[8;{};{}t", options_.rows, options_.cols)));
  }
  PODTAPE_RETURN_IF_ERROR(Catchup(start_idx_));
  Anchor(start_v_);
  while (true) {
    if (AtEnd() && !paused_) {
      if (!options_.loop) return Status::OK();
      // Play the tail's silence? No: loop at once, as asciinema does.
      ++stats_.loops;
      PODTAPE_RETURN_IF_ERROR(Restart(start_idx_));
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
      key = io_->WaitKey(DeadlineOf((*timeline_)[idx_].v_ns));
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
    const bool marker = (*timeline_)[idx_].type == EventType::kMarker;
    PODTAPE_RETURN_IF_ERROR(WriteEvent(idx_, nullptr));
    const int64_t v = (*timeline_)[idx_].v_ns;
    ++idx_;
    if (marker && options_.pause_on_markers) {
      paused_ = true;
      paused_v_ = v;
    }
  }
}

}  // namespace podtape::player
