// The event model every export and the player share: asciicast's event types, with times in
// nanoseconds since the session start.
//
// A session's frames become events through FrameEventizer (player/frame_events.h); asciicast
// files become events through the asciicast reader. Both hand events to an EventSink one at a
// time, so nothing holds a whole session in memory.
#ifndef PODTAPE_PLAYER_EVENTS_H_
#define PODTAPE_PLAYER_EVENTS_H_

#include <cstdint>
#include <functional>
#include <string_view>

#include "schema/status.h"

namespace podtape::player {

enum class EventType : char {
  kOutput = 'o',  // what the terminal showed: stdout and stderr in arrival order (valid UTF-8)
  kInput = 'i',   // what was typed (stdin; valid UTF-8)
  kResize = 'r',  // "COLSxROWS"
  kMarker = 'm',  // a command boundary; data is its label (may be empty)
  kExit = 'x',    // the exit code, in decimal (asciicast v3 only)
};

struct Event {
  int64_t t_ns = 0;  // since the session start
  EventType type = EventType::kOutput;
  std::string_view data;  // valid only during the sink call
};

// Receives events in time order. A non-OK Status stops the producer, which returns it.
using EventSink = std::function<Status(const Event&)>;

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_EVENTS_H_
