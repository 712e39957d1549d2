// Building the search index of a session (its commands and its rendered output lines) and
// catching up on sessions not indexed yet. The rows are stored through schema/index_store.h.
//
// Output lines: for a TTY session the lines the terminal showed, rendered through libvterm
// (player/txt_render.h: lines as they scroll off, the screen before each clear, the final
// screen), each at the time its row was first written; without a TTY each stdout/stderr line.
// Blank lines are skipped; a line is cut at kMaxIndexedLineBytes (on a character boundary).
#ifndef PODTAPE_PLAYER_SEARCH_H_
#define PODTAPE_PLAYER_SEARCH_H_

#include <cstddef>
#include <vector>

#include "schema/index_store.h"
#include "schema/status.h"
#include "schema/store.h"

namespace podtape::player {

inline constexpr size_t kMaxIndexedLineBytes = 1024;

// The index entries of one stored session: commands (player/command_index.h) and output lines,
// each in time order.
Result<std::vector<store::IndexEntry>> BuildIndexEntries(store::Store& store,
                                                         const store::SessionRow& row);

// Indexes every session that has ended (or was interrupted) and has no index yet. Returns how
// many were indexed. Safe to run from several processes at once (each session is indexed once).
Result<int> IndexPendingSessions(store::Store& store);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_SEARCH_H_
