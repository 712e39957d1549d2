// Turns a session's stored frames into events (player/events.h), one frame at a time.
//
// - stdout (1) and stderr (2) from the server: `o` events, in arrival order, each stream through
//   its own UTF-8 decoder (a character split across frames is joined; invalid bytes are U+FFFD).
//   The empty "ready" frame and frames that only start a character produce no event.
// - stdin (0) to the server: `i` events when Options::input; `m` markers at each Enter typed
//   (\r or \n; \r\n counts once), labelled with the line typed since the previous Enter, when
//   Options::markers_from_input.
// - resize (4) to the server: a concatenated JSON stream (joined or split across frames), parsed
//   with codec::ResizeStreamParser; each size is an `r` event "COLSxROWS". A stream that stops
//   parsing stops resize events (as the API server does) and is counted in resize_errors().
// - channel 255 from the server never occurs on the wire: podtape stores an imported cast's
//   markers there (payload = label), so an import keeps its own markers (kMarkerChannel).
// - status (3) and the close signal produce no event; Finish adds `x` with the exit code.
//
// Not thread-safe. Memory is constant: a few buffers reused from frame to frame.
#ifndef PODTAPE_PLAYER_FRAME_EVENTS_H_
#define PODTAPE_PLAYER_FRAME_EVENTS_H_

#include <memory>
#include <optional>
#include <string>

#include "player/events.h"
#include "player/utf8_decoder.h"
#include "schema/store.h"

namespace podtape::player {

// Direction kFromServer, channel 255: a marker of an imported cast (payload is its label).
inline constexpr uint8_t kMarkerChannel = 255;

class FrameEventizer {
 public:
  struct Options {
    bool input = false;              // emit `i` events for stdin
    bool markers_from_input = true;  // emit `m` at each Enter on stdin
  };
  FrameEventizer(Options options, EventSink sink);
  ~FrameEventizer();
  FrameEventizer(const FrameEventizer&) = delete;
  FrameEventizer& operator=(const FrameEventizer&) = delete;

  // Options suited to a stored session: markers from input, except for imports (their markers
  // are stored frames).
  static Options ForSession(const store::SessionRow& row, bool input);

  Status OnFrame(const store::FrameView& frame);
  // Flushes the decoders (an incomplete character at the end becomes U+FFFD) and, when
  // `exit_code` is set, emits `x` at max(end_t_ns, last event time).
  Status Finish(std::optional<int> exit_code, int64_t end_t_ns);

  int64_t last_t_ns() const { return last_frame_t_ns_; }  // of the last frame seen
  int resize_errors() const { return resize_errors_; }

 private:
  Status Emit(int64_t t_ns, EventType type, std::string_view data);
  Status OnStdin(const store::FrameView& frame);

  struct ResizeState;
  Options options_;
  EventSink sink_;
  Utf8Decoder stdout_decoder_;
  Utf8Decoder stderr_decoder_;
  Utf8Decoder stdin_decoder_;
  std::unique_ptr<ResizeState> resize_;
  std::string text_;  // reused decode buffer
  std::string line_;  // the line typed since the last Enter (marker label)
  bool last_was_cr_ = false;
  int64_t last_t_ns_ = 0;        // of the last event emitted
  int64_t last_frame_t_ns_ = 0;  // of the last frame seen
  int resize_errors_ = 0;
};

// Session time of the end: ended_at - started_at when ended (never before the last frame).
int64_t SessionEndOffset(const store::SessionRow& row, int64_t last_frame_t_ns);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_FRAME_EVENTS_H_
