// The `txt` export: the transcript as a person saw it, rendered through a terminal emulator
// (libvterm), not raw escapes. Lines leave the screen into the transcript as they scroll off the
// top (sb_pushline); before every erase of the whole display (ESC[2J) the visible screen is
// written out, since a clear pushes nothing; at the end the final screen follows. With timestamps
// each line starts with "[m:ss.mmm] ", the time its row was first written.
//
// Memory: one screen of cells, whatever the length of the session. Not thread-safe.
#ifndef PODTAPE_PLAYER_TXT_RENDER_H_
#define PODTAPE_PLAYER_TXT_RENDER_H_

#include <memory>

#include "player/events.h"
#include "player/output.h"

namespace podtape::player {

class TxtRenderer {
 public:
  // `out` must outlive the renderer. cols/rows: the initial terminal size.
  TxtRenderer(int cols, int rows, bool timestamps, ByteSink* out);
  ~TxtRenderer();
  TxtRenderer(const TxtRenderer&) = delete;
  TxtRenderer& operator=(const TxtRenderer&) = delete;

  // `o` events are rendered, `r` events resize the screen; others are ignored.
  Status OnEvent(const Event& event);
  // Writes the final screen (up to its last non-blank row).
  Status Finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_TXT_RENDER_H_
