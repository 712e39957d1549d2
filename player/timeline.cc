#include "player/timeline.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace podtape::player {

void Timeline::Add(const Event& e) {
  if (e.type != EventType::kOutput && e.type != EventType::kResize &&
      e.type != EventType::kMarker) {
    return;
  }
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
