// `podtape import FILE.cast`: an asciicast v2 or v3 file stored as a session of kind "import",
// so a recording made elsewhere is listed, played, exported and searched with the rest.
//
// Events become frames as a recorder would have stored them: `o` stdout from the server, `i`
// stdin to the server, `r` a resize message ({"Width":W,"Height":H}\n) to the server, `m` a
// marker frame (player/frame_events.h, kMarkerChannel), `x` the session's exit code. So
// export(import(x)) gives back every event of x (a test checks it).
#ifndef PODTAPE_PLAYER_IMPORT_H_
#define PODTAPE_PLAYER_IMPORT_H_

#include <istream>
#include <string>

#include "schema/store.h"

namespace podtape::player {

struct ImportResult {
  std::string session_id;
  int64_t events = 0;
  int skipped = 0;  // events of unknown types
};

// Reads the cast from `in` (`name` for messages) and records it through a SessionWriter on
// `store`. `base` supplies what the file cannot (local_user, host, recorder_version); its
// kind, times, size, title and command are taken from the file. `now_ns` (Unix UTC) is the start
// when the file has no timestamp.
Result<ImportResult> ImportCast(std::istream* in, const std::string& name, store::Store& store,
                                store::SessionMeta base, int64_t now_ns);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_IMPORT_H_
