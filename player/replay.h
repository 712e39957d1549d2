// The terminal player's loop: writes an EventSource's output with the recorded timing and obeys
// keys.
//
// Timing: every write has an absolute deadline computed from one anchor (wall time, playback
// time), so waits never add up and nothing drifts. The anchor moves only when the user pauses,
// resumes, seeks or changes the speed. Each event is one write, made as soon as its deadline
// passes (no buffering).
//
// Keys (when PlaybackIo delivers them): space pause/resume, '.' step one output event while
// paused, ']' next command marker (everything before it is drawn at once; with no marker ahead,
// everything is: the end), '[' previous marker (clears the screen, reads the recording again from
// the start and draws it without delays up to the marker), '+'/'-' double/halve the speed, 'q' or
// Ctrl-C quit.
//
// Memory: the events are read one at a time from the source; the player keeps only the markers
// passed so far (their positions, for '['), never the output.
//
// All OS access goes through PlaybackIo, so tests drive the loop with a fake clock.
#ifndef PODTAPE_PLAYER_REPLAY_H_
#define PODTAPE_PLAYER_REPLAY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "player/timeline.h"
#include "schema/status.h"

namespace podtape::player {

class PlaybackIo {
 public:
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
  virtual ~PlaybackIo() = default;
  // Monotonic nanoseconds.
  virtual int64_t NowNs() = 0;
  // Returns a key as soon as one is typed, or nullopt once NowNs() >= deadline_ns. Without a
  // keyboard, sleeps until the deadline (kForever then means: return nullopt at once).
  virtual std::optional<char> WaitKey(int64_t deadline_ns) = 0;
  // Writes to the terminal at once (unbuffered).
  virtual Status Write(std::string_view bytes) = 0;
};

struct ReplayOptions {
  double speed = 1.0;                    // > 0
  std::optional<int64_t> idle_limit_ns;  // gaps longer than this are cut
  std::optional<int64_t> from_ns;  // recorded time to start at (earlier output is drawn at once)
  std::optional<int64_t> to_ns;    // recorded time to stop after
  bool loop = false;
  bool pause_on_markers = false;
  bool resize = false;  // write xterm's ESC[8;ROWS;COLSt at the start and for each resize
  int cols = 0;         // the recording's initial size (for --resize)
  int rows = 0;
};

// What happened, for tests and the exit message.
struct ReplayStats {
  int64_t events_written = 0;
  bool quit = false;  // ended by the user
  int loops = 0;
  int max_cols = 0;  // the largest size the recording's resizes asked for (0 when none)
  int max_rows = 0;
};

class Replayer {
 public:
  // `source` and `io` must outlive the player.
  Replayer(EventSource* source, ReplayOptions options, PlaybackIo* io);
  Status Run();
  const ReplayStats& stats() const { return stats_; }

 private:
  // The next event to play, with its place in the recording and its playback time.
  struct Pending {
    Event event;
    int64_t index = 0;
    int64_t v_ns = 0;
  };
  struct MarkerPos {
    int64_t index;
    int64_t v_ns;
  };
  Status Fetch();                      // reads the next event into pending_ (nullopt at the end)
  Status Rewind();                     // the source from the start, nothing written
  Status Consume(std::string* batch);  // writes pending_ (into *batch when given), then fetches
  // Writes events at once (batched) while pending_ is before the end and `before(pending)`.
  template <typename Pred>
  Status Catchup(Pred before);
  Status FlushBatch();
  Status Restart(int64_t through_index);  // clear, replay [0, through_index] at once
  Status RestartAtFrom();                 // clear (unless at the start), replay up to --from
  void Anchor(int64_t v_ns);              // playback continues from v_ns, now
  int64_t CurrentV();                     // playback position (speed 1 ns) right now
  int64_t DeadlineOf(int64_t v_ns) const;
  Status OnKey(char key, bool* quit);  // handles one key; *quit when the user quits
  bool AtEnd() const;
  std::string ResizeRequest(int cols, int rows) const;

  EventSource* source_;
  ReplayOptions options_;
  PlaybackIo* io_;
  ReplayStats stats_;
  std::optional<Pending> pending_;
  int64_t fetched_ = 0;  // events read from the source since the last rewind
  int64_t prev_t_ = 0;   // recorded time of the last event fetched
  int64_t prev_v_ = 0;   // its playback time
  int64_t last_t_ = 0;   // recorded and playback time of the last event consumed
  int64_t last_v_ = 0;
  std::vector<MarkerPos> markers_;  // every marker fetched so far, in order
  int64_t start_v_ = 0;
  bool paused_ = false;
  int64_t paused_v_ = 0;
  double speed_ = 1.0;
  int64_t anchor_wall_ = 0;
  int64_t anchor_v_ = 0;
  std::string batch_;
};

// Clears the screen and homes the cursor (used when seeking back).
inline constexpr std::string_view kClearScreen = "\x1b[0m\x1b[H\x1b[2J\x1b[3J";

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_REPLAY_H_
