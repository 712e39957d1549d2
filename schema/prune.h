// Removing whole sessions from a store file (podtape prune).
#ifndef PODTAPE_SCHEMA_PRUNE_H_
#define PODTAPE_SCHEMA_PRUNE_H_

#include <cstdint>
#include <string_view>

#include "schema/status.h"
#include "schema/store.h"

namespace podtape::store {

// Deletes session `session_id` (full id) with all its frames in one transaction on a private
// connection to `store`'s file (file stores only), then every row of the search index file that
// refers to it (best effort: rows left name a session that is gone, which no search shows). Refuses
// a session a live writer still holds (InvalidArgument, "session ... is still running"). Returns
// the number of frames removed; NotFound when no such session exists. The other sessions'
// chains and seals are untouched (each covers only its own session), so they still verify.
Result<int64_t> DeleteSession(Store& store, std::string_view session_id);

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_PRUNE_H_
