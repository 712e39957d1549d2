// Building the search index of a session (its commands and its rendered output lines) and
// catching up on sessions not indexed yet. The rows are stored through schema/index_store.h.
//
// Output lines: for a TTY session the lines the terminal showed, rendered through libvterm
// (player/txt_render.h: lines as they scroll off, the screen before each clear, the final
// screen), each at the time its row was first written; without a TTY each stdout/stderr line.
// Blank lines are skipped; a line is cut at kMaxIndexedLineBytes (on a character boundary).
//
// Memory: constant in the session's length (one screen, the current lines, and at most
// kMaxHeldIndexEntries entries held back to put commands and lines in time order).
#ifndef PODTAPE_PLAYER_SEARCH_H_
#define PODTAPE_PLAYER_SEARCH_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

#include "schema/index_store.h"
#include "schema/status.h"
#include "schema/store.h"

namespace podtape::player {

inline constexpr size_t kMaxIndexedLineBytes = 1024;
inline constexpr size_t kMaxHeldIndexEntries = 4096;

// Receives index entries; a non-OK Status stops the build, which returns it.
using IndexEntrySink = std::function<Status(const store::IndexEntry&)>;

// Streams the index entries of one stored session to `sink`: commands (player/command_index.h)
// and output lines merged in session time (entries are held back only while the other kind may
// still produce an earlier one, at most kMaxHeldIndexEntries of each).
Status BuildIndexEntries(store::Store& store, const store::SessionRow& row,
                         const IndexEntrySink& sink);

struct IndexRun {
  int indexed = 0;    // sessions this call indexed
  bool busy = false;  // another indexer held the store past `wait`: nothing was indexed
};

// How much of the time an indexer that yields to recorders may work while a session of the store
// is being recorded: after each stretch of work (kYieldEveryEntries entries) it sleeps
// kYieldSleepPerWork times as long (at most kYieldMaxSleep), so it takes at most a tenth of a
// core from the recording. With no session recording it runs flat out.
inline constexpr int kYieldEveryEntries = 256;
inline constexpr int kYieldSleepPerWork = 9;
inline constexpr std::chrono::milliseconds kYieldMaxSleep{1000};

// Indexes every session that has ended (or was interrupted) and has no index yet, until none is
// left (sessions that end meanwhile included). One indexer runs at a time per store
// (store::IndexerLock): this waits up to `wait` for another to finish (a negative wait: as long
// as it takes), and returns busy when it did not. `yield_to_recorders`: see kYieldSleepPerWork
// (the background indexer that exec, attach and the proxy start).
Result<IndexRun> IndexPendingSessions(store::Store& store, std::chrono::milliseconds wait,
                                      bool yield_to_recorders = false);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_SEARCH_H_
