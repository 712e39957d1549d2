#include "player/timeline.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace podtape::player {

namespace {
// A chunk is handed to the player once it holds this much data or this many events, so the
// player gets its first events at once and the lock is taken once per chunk, not per event.
constexpr size_t kChunkBytes = 64 * 1024;
constexpr size_t kChunkEvents = 1024;
}  // namespace

StreamedEvents::StreamedEvents(Producer produce, size_t read_ahead_bytes)
    : produce_(std::move(produce)), read_ahead_bytes_(std::max<size_t>(read_ahead_bytes, 1)) {
  Start();
}

StreamedEvents::~StreamedEvents() { Stop(); }

void StreamedEvents::Start() {
  done_ = false;
  cancel_ = false;
  status_ = Status::OK();
  error_given_ = false;
  thread_ = std::thread([this] { ProducerMain(); });
}

void StreamedEvents::Stop() {
  {
    std::lock_guard lock(mu_);
    cancel_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (auto& c : ready_) free_.push_back(std::move(c));
  ready_.clear();
  ready_bytes_ = 0;
  if (reading_) free_.push_back(std::move(reading_));
  read_pos_ = 0;
}

std::unique_ptr<StreamedEvents::Chunk> StreamedEvents::TakeFree() {
  std::unique_ptr<Chunk> c;
  {
    std::lock_guard lock(mu_);
    if (!free_.empty()) {
      c = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!c) c = std::make_unique<Chunk>();
  c->arena.clear();
  c->entries.clear();
  return c;
}

void StreamedEvents::ProducerMain() {
  filling_ = TakeFree();
  Status st = produce_([this](const Event& e) { return Deliver(e); });
  std::unique_lock lock(mu_);
  if (!cancel_ && filling_ && !filling_->entries.empty()) {
    ready_bytes_ += filling_->bytes();
    peak_bytes_ = std::max(peak_bytes_, ready_bytes_);
    ready_.push_back(std::move(filling_));
  }
  filling_.reset();
  status_ = cancel_ ? Status::OK() : std::move(st);
  done_ = true;
  lock.unlock();
  cv_.notify_all();
}

Status StreamedEvents::Deliver(const Event& e) {
  if (!IsPlayable(e.type)) return Status::OK();
  Chunk& c = *filling_;
  c.entries.push_back(
      Chunk::Entry{e.t_ns, e.type, static_cast<uint32_t>(e.data.size()), c.arena.size()});
  c.arena.append(e.data);
  if (c.arena.size() < kChunkBytes && c.entries.size() < kChunkEvents) return Status::OK();
  std::unique_lock lock(mu_);
  // Wait for room: the chunk goes in when the read-ahead has room for it, or when nothing is
  // buffered (one chunk larger than the bound still moves).
  cv_.wait(lock, [&] {
    return cancel_ || ready_.empty() || ready_bytes_ + c.bytes() <= read_ahead_bytes_;
  });
  if (cancel_) return Status::IOError("playback stopped reading");
  ready_bytes_ += c.bytes();
  peak_bytes_ = std::max(peak_bytes_, ready_bytes_);
  ready_.push_back(std::move(filling_));
  std::unique_ptr<Chunk> next;
  if (!free_.empty()) {
    next = std::move(free_.back());
    free_.pop_back();
  }
  lock.unlock();
  cv_.notify_all();
  if (!next) next = std::make_unique<Chunk>();
  next->arena.clear();
  next->entries.clear();
  filling_ = std::move(next);
  return Status::OK();
}

Status StreamedEvents::Next(std::optional<Event>* event) {
  while (!reading_ || read_pos_ >= reading_->entries.size()) {
    std::unique_lock lock(mu_);
    if (reading_) {
      free_.push_back(std::move(reading_));
      read_pos_ = 0;
    }
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) {
      event->reset();
      if (!status_.ok() && !error_given_) {
        error_given_ = true;
        return status_;
      }
      return Status::OK();
    }
    reading_ = std::move(ready_.front());
    ready_.pop_front();
    ready_bytes_ -= reading_->bytes();
    lock.unlock();
    cv_.notify_all();
  }
  const Chunk::Entry& en = reading_->entries[read_pos_++];
  *event = Event{en.t_ns, en.type, std::string_view(reading_->arena).substr(en.offset, en.size)};
  return Status::OK();
}

Status StreamedEvents::Rewind() {
  Stop();
  Start();
  return Status::OK();
}

size_t StreamedEvents::peak_buffered_bytes() const {
  std::lock_guard lock(mu_);
  return peak_bytes_;
}

void Timeline::Add(const Event& e) {
  if (!IsPlayable(e.type)) return;
  int64_t t = e.t_ns;
  if (!entries_.empty() && t < entries_.back().t_ns) t = entries_.back().t_ns;
  entries_.push_back(Entry{t, t, e.type, static_cast<uint32_t>(e.data.size()), arena_.size()});
  arena_.append(e.data);
}

void Timeline::ApplyIdleLimit(std::optional<int64_t> limit_ns) {
  idle_limit_ns_ = limit_ns;
  int64_t prev_t = 0;
  int64_t v = 0;
  for (Entry& e : entries_) {
    int64_t gap = e.t_ns - prev_t;
    if (limit_ns && gap > *limit_ns) gap = *limit_ns;
    v += gap;
    e.v_ns = v;
    prev_t = e.t_ns;
  }
}

size_t Timeline::IndexAtOrAfter(int64_t t_ns) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), t_ns,
                             [](const Entry& e, int64_t t) { return e.t_ns < t; });
  return static_cast<size_t>(it - entries_.begin());
}

int64_t Timeline::PlaybackTimeOf(int64_t t_ns) const {
  size_t i = IndexAtOrAfter(t_ns);
  // The last event strictly before t_ns (or the start).
  int64_t base_t = 0;
  int64_t base_v = 0;
  if (i > 0) {
    base_t = entries_[i - 1].t_ns;
    base_v = entries_[i - 1].v_ns;
  }
  int64_t gap = t_ns - base_t;
  if (idle_limit_ns_ && gap > *idle_limit_ns_) gap = *idle_limit_ns_;
  return base_v + std::max<int64_t>(gap, 0);
}

std::optional<size_t> Timeline::NextMarker(size_t i) const {
  for (size_t j = i + 1; j < entries_.size(); ++j) {
    if (entries_[j].type == EventType::kMarker) return j;
  }
  return std::nullopt;
}

std::optional<size_t> Timeline::PrevMarker(size_t i) const {
  for (size_t j = std::min(i, entries_.size()); j-- > 0;) {
    if (entries_[j].type == EventType::kMarker) return j;
  }
  return std::nullopt;
}

void Timeline::MaxSize(int* cols, int* rows) const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].type != EventType::kResize) continue;
    int c = 0, r = 0;
    if (ParseSize(data(i), &c, &r)) {
      *cols = std::max(*cols, c);
      *rows = std::max(*rows, r);
    }
  }
}

bool ParseSize(std::string_view text, int* cols, int* rows) {
  size_t x = text.find('x');
  if (x == std::string_view::npos) return false;
  int c = 0, r = 0;
  auto [p1, e1] = std::from_chars(text.data(), text.data() + x, c);
  auto [p2, e2] = std::from_chars(text.data() + x + 1, text.data() + text.size(), r);
  if (e1 != std::errc() || p1 != text.data() + x || e2 != std::errc() ||
      p2 != text.data() + text.size() || c <= 0 || r <= 0) {
    return false;
  }
  *cols = c;
  *rows = r;
  return true;
}

std::vector<int64_t> LimitIdle(const std::vector<int64_t>& times_ns, int64_t limit_ns) {
  std::vector<int64_t> out;
  out.reserve(times_ns.size());
  int64_t prev = 0;
  int64_t v = 0;
  for (int64_t t : times_ns) {
    v += std::min(std::max<int64_t>(t - prev, 0), limit_ns);
    out.push_back(v);
    prev = std::max(prev, t);
  }
  return out;
}

int64_t ScaleBySpeed(int64_t ns, double speed) {
  return static_cast<int64_t>(std::llround(static_cast<double>(ns) / speed));
}

}  // namespace podtape::player
