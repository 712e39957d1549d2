// The events of a recording as the player reads them, and the pure timing transforms over them:
// idle-time limit (asciinema's -i), seek (--from/--to, command markers), speed.
//
// - EventSource: what the replay loop (player/replay.h) reads, one event at a time, and reads
//   again from the start to seek backward.
// - StreamedEvents: an EventSource fed by a producer (a stored session's frames, a .cast file)
//   on a reader thread through a bounded read-ahead, so playing never holds a session's output
//   in memory and the first frame does not wait for the last to be read.
// - Timeline: a whole (small) recording held in memory, for tests and the transforms.
//
// Only what playback needs is kept: `o`, `r` and `m` events. Their data lives in arena strings
// (no allocation per event). No clock, no terminal: the replay loop does the waiting.
#ifndef PODTAPE_PLAYER_TIMELINE_H_
#define PODTAPE_PLAYER_TIMELINE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "player/events.h"

namespace podtape::player {

// True for the event types playback uses: `o`, `r` and `m`.
inline bool IsPlayable(EventType type) {
  return type == EventType::kOutput || type == EventType::kResize || type == EventType::kMarker;
}

// A recording's playable events in time order. Used by one thread.
class EventSource {
 public:
  virtual ~EventSource() = default;
  // Sets *event to the next event, or to nullopt at the end. Its data stays valid until the next
  // call of Next or Rewind. An error (the store failed, a .cast line does not parse) is returned
  // once, in order: the events before it were delivered.
  virtual Status Next(std::optional<Event>* event) = 0;
  // Starts again from the first event (seeking backward).
  virtual Status Rewind() = 0;
};

// Reads events that `produce` hands to its sink, on a reader thread, at most `read_ahead_bytes`
// of event data ahead of the reader (a single event larger than that is still handed over), so
// memory stays bounded however long the recording and however slowly it is played. Rewind stops
// the producer (its sink returns a non-OK status, which the producer must return) and runs it
// again from the start. `produce` runs on the reader thread, one run at a time, and must not be
// called by anyone else meanwhile; it must outlive this object.
class StreamedEvents : public EventSource {
 public:
  using Producer = std::function<Status(const EventSink& sink)>;
  explicit StreamedEvents(Producer produce, size_t read_ahead_bytes = 1 << 20);
  ~StreamedEvents() override;
  StreamedEvents(const StreamedEvents&) = delete;
  StreamedEvents& operator=(const StreamedEvents&) = delete;

  Status Next(std::optional<Event>* event) override;
  Status Rewind() override;
  // The most event data (bytes) ever buffered at once, for tests.
  size_t peak_buffered_bytes() const;

 private:
  struct Chunk {
    struct Entry {
      int64_t t_ns;
      EventType type;
      uint32_t size;
      size_t offset;
    };
    std::string arena;
    std::vector<Entry> entries;
    size_t bytes() const { return arena.size(); }
  };
  void Start();
  void Stop();
  void ProducerMain();
  Status Deliver(const Event& e);  // reader thread
  std::unique_ptr<Chunk> TakeFree();

  Producer produce_;
  const size_t read_ahead_bytes_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;                // signalled on every change below
  std::deque<std::unique_ptr<Chunk>> ready_;  // filled chunks, oldest first
  std::vector<std::unique_ptr<Chunk>> free_;  // emptied chunks, reused
  size_t ready_bytes_ = 0;
  size_t peak_bytes_ = 0;
  bool done_ = false;    // the producer returned; status_ holds what it returned
  bool cancel_ = false;  // Rewind or the destructor asks the producer to stop
  Status status_;

  std::unique_ptr<Chunk> filling_;  // reader thread only
  std::unique_ptr<Chunk> reading_;  // consumer only
  size_t read_pos_ = 0;
  bool error_given_ = false;
};

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

// A Timeline read as an EventSource (it must outlive the source).
class TimelineSource : public EventSource {
 public:
  explicit TimelineSource(const Timeline* timeline) : timeline_(timeline) {}
  Status Next(std::optional<Event>* event) override {
    if (next_ >= timeline_->size()) {
      event->reset();
    } else {
      *event = timeline_->event(next_++);
    }
    return Status::OK();
  }
  Status Rewind() override {
    next_ = 0;
    return Status::OK();
  }

 private:
  const Timeline* timeline_;
  size_t next_ = 0;
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
