// The events of one recording held for playback, and the pure timing transforms over them:
// idle-time limit (asciinema's -i), seek (--from/--to, command markers), speed.
//
// Only what playback needs is kept: `o`, `r` and `m` events. Their data lives in one arena
// string (no allocation per event). No clock, no terminal: the replay loop (player/replay.h)
// does the waiting.
#ifndef PODTAPE_PLAYER_TIMELINE_H_
#define PODTAPE_PLAYER_TIMELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "player/events.h"

namespace podtape::player {

class Timeline {
 public:
  struct Entry {
    int64_t t_ns;  // recorded time since the session start
    int64_t v_ns;  // playback time at speed 1 after the idle limit (ApplyIdleLimit)
    EventType type;
    uint32_t size;
    uint64_t offset;  // into the arena
  };

  // Keeps `o`, `r` and `m` events (others are ignored). Times must not decrease (clamped).
  void Add(const Event& e);
  // Recomputes playback times: every gap between consecutive events longer than `limit_ns` is
  // cut to `limit_ns` (nullopt: times kept). The gap before the first event counts too.
  void ApplyIdleLimit(std::optional<int64_t> limit_ns);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& operator[](size_t i) const { return entries_[i]; }
  std::string_view data(size_t i) const {
    return std::string_view(arena_).substr(entries_[i].offset, entries_[i].size);
  }
  Event event(size_t i) const { return Event{entries_[i].t_ns, entries_[i].type, data(i)}; }

  // The first index whose recorded time is >= t_ns (size() when none).
  size_t IndexAtOrAfter(int64_t t_ns) const;
  // Playback time (speed 1) of the recorded time t_ns: the idle limit applies to the part of
  // t_ns after the last event before it.
  int64_t PlaybackTimeOf(int64_t t_ns) const;
  // The index of the first marker after index `i` (exclusive); nullopt when none.
  std::optional<size_t> NextMarker(size_t i) const;
  // The index of the last marker before index `i` (exclusive); nullopt when none.
  std::optional<size_t> PrevMarker(size_t i) const;
  // The largest terminal size the recording uses: the initial one and every resize.
  void MaxSize(int* cols, int* rows) const;

 private:
  std::vector<Entry> entries_;
  std::string arena_;
  std::optional<int64_t> idle_limit_ns_;
};

// Parses "COLSxROWS"; false when malformed.
bool ParseSize(std::string_view text, int* cols, int* rows);

// Pure helpers over (recorded time) lists, the transforms the Timeline and the replay loop use.
// Idle limit: each gap capped at limit_ns.
std::vector<int64_t> LimitIdle(const std::vector<int64_t>& times_ns, int64_t limit_ns);
// Speed: playback time at `speed` (> 0) of a time at speed 1, rounded to the nearest ns.
int64_t ScaleBySpeed(int64_t ns, double speed);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_TIMELINE_H_
