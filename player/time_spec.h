// Time syntax shared by the commands (DESIGN.md "Shared conventions").
//
// - Offsets into a session (--from, --to, what search prints): "90", "90.5s", "1:30",
//   "1:02:03.5". Returned in nanoseconds since the session start.
// - Points in time (--since, --until, --before): a duration meaning "that long ago" ("90s", "2h",
//   "30d", "1h30m", units ms s m h d as kubectl logs --since plus days) or an RFC 3339 time
//   ("2026-11-26T08:00:00Z", "2026-11-26T09:00:00.5+01:00"). Returned as Unix UTC nanoseconds.
#ifndef PODTAPE_PLAYER_TIME_SPEC_H_
#define PODTAPE_PLAYER_TIME_SPEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/status.h"

namespace podtape::player {

// "90", "90.5s", "1:30", "1:02:03.5" -> nanoseconds. Negative values are refused.
Result<int64_t> ParseOffset(std::string_view text);
// Formats nanoseconds since the session start as "1:02:03.500" (hours only when needed),
// a form ParseOffset accepts.
std::string FormatOffset(int64_t ns);

// A duration "90s", "2h", "30d", "1h30m", "500ms" -> nanoseconds (> 0).
Result<int64_t> ParseDuration(std::string_view text);
// RFC 3339 ("2026-11-26T08:00:00Z", "...T08:00:00.123+02:00"; 't'/'z'/' ' accepted as
// separators as RFC 3339 allows) -> Unix UTC nanoseconds.
Result<int64_t> ParseRfc3339(std::string_view text);
// A duration (now_ns minus it) or an RFC 3339 time -> Unix UTC nanoseconds.
Result<int64_t> ParseTimePoint(std::string_view text, int64_t now_ns);
// Unix UTC nanoseconds -> "2026-11-26T08:00:00Z" (with ".123456789" trimmed of trailing zeros
// when `fraction` is true and the value has one).
std::string FormatRfc3339(int64_t unix_ns, bool fraction = false);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_TIME_SPEC_H_
