// The terminal player's loop: writes a Timeline's output with the recorded timing and obeys keys.
//
// Timing: every write has an absolute deadline computed from one anchor (wall time, playback
// time), so waits never add up and nothing drifts. The anchor moves only when the user pauses,
// resumes, seeks or changes the speed.
//
// Keys (when PlaybackIo delivers them): space pause/resume, '.' step one output event while
// paused, ']' next command marker, '[' previous marker (clears the screen and replays from the
// start without delays up to it), '+'/'-' double/halve the speed, 'q' or Ctrl-C quit.
//
// All OS access goes through PlaybackIo, so tests drive the loop with a fake clock.
#ifndef PODTAPE_PLAYER_REPLAY_H_
#define PODTAPE_PLAYER_REPLAY_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

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
};

class Replayer {
 public:
  // `timeline` (idle limit already applied by the constructor) and `io` must outlive the player.
  Replayer(Timeline* timeline, ReplayOptions options, PlaybackIo* io);
  Status Run();
  const ReplayStats& stats() const { return stats_; }

 private:
  // Writes events [idx_, end) at once (one write), as when seeking.
  Status Catchup(size_t end);
  Status WriteEvent(size_t i, std::string* batch);
  Status Restart(size_t target);  // clear, replay [0, target) at once
  void Anchor(int64_t v_ns);      // playback continues from v_ns, now
  int64_t CurrentV();             // playback position (speed 1 ns) right now
  int64_t DeadlineOf(int64_t v_ns) const;
  // Handles one key; false when the user quits.
  Status OnKey(char key, bool* quit);
  bool AtEnd() const;

  Timeline* timeline_;
  ReplayOptions options_;
  PlaybackIo* io_;
  ReplayStats stats_;
  size_t idx_ = 0;
  size_t start_idx_ = 0;  // first event played with timing (after --from)
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
