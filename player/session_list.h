// `podtape ls` output: the table a person reads, the JSON scripts read (DESIGN.md lists its
// fields; other commands and scripts rely on them), and CSV.
//
// Table cells come from recordings (pod names, commands, user names), so every control
// character, DEL, C1 control and invalid UTF-8 byte is shown escaped (\e, \n, \x9b ...): nothing
// in a recording can move the reviewer's cursor or change their terminal.
#ifndef PODTAPE_PLAYER_SESSION_LIST_H_
#define PODTAPE_PLAYER_SESSION_LIST_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "schema/store.h"

namespace podtape::player {

enum class ListFormat { kTable, kJson, kCsv };
// "table", "json", "csv".
Result<ListFormat> ParseListFormat(std::string_view name);

// One session as the JSON object of `ls -o json`. `now_ns` (Unix UTC) gives a running session's
// duration so far.
boost::json::value SessionJson(const store::SessionRow& row, int64_t now_ns);

// The whole listing, ending with a newline (JSON: an array, newest first as given).
std::string FormatSessions(const std::vector<store::SessionRow>& rows, ListFormat format,
                           bool headers, int64_t now_ns);

// Escapes what a terminal would interpret: C0 controls, DEL, C1 controls (U+0080-U+009F) and
// invalid UTF-8 bytes become visible text (\n, \t, \e, \x7f, \u009b, \xff); backslash itself is
// doubled so the escapes cannot be faked.
std::string EscapeForTerminal(std::string_view text);

// One CSV field as RFC 4180 writes it: quoted when it holds a comma, quote or line break,
// quotes doubled.
std::string CsvField(std::string_view s);

// "1h02m03s", "4m05s", "12.3s".
std::string FormatDuration(int64_t ns);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_SESSION_LIST_H_
