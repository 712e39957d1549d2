// The command extractor: which commands a recorded session ran, each with its session time, for
// the command index (audit, search) and the player's markers.
//
// Rules (the design; tests/player/command_index_test.cc checks each):
// - exec sessions: the exec argv itself is always the first command, at t_ns 0, joined with
//   spaces; an argument with characters outside [A-Za-z0-9_./=:,@%+-] is single-quoted as a POSIX
//   shell would need it (JoinArgv).
// - Non-TTY sessions: each stdin line (up to "\n"; a trailing "\r" dropped) is a command at the
//   time of the frame that ended it; an unterminated last line counts at the end. Blank lines are
//   skipped. (Without a terminal nothing tells typed from piped input, nor echoed from unechoed.)
// - TTY sessions: the output is run through libvterm at the session's terminal size (following
//   its resizes). At each Enter typed on stdin (\r or \n; \r\n counts once) the command is the
//   text of the cursor's line as the terminal shows it, so the shell's line editing, history
//   recall and tab completion are what the index holds. The line is taken when the output
//   catches up with the Enter: just before the next line feed in the output (the shell's or the
//   tty's echo of the Enter); when the next line's first key comes before any line feed (a
//   `read -s` answer, a prompt printed on the same row), the line as it was at its Enter is
//   taken; at the end, the line as it is. A line wrapped over several rows is joined: a row whose
//   last column holds a character is taken to continue on the next row.
// - The prompt: when the first keystroke of a line is typed, the text left of the cursor on its
//   row is taken as the prompt; it is removed from the front of the captured line when the line
//   starts with it (a redraw after a tab completion list or ^L keeps the same prompt). ^C and ^D
//   start a new line.
// - Typeahead: a line whose first key is typed before any output came back after the previous
//   Enter (a paste, fast typing over a slow link) cannot be on the screen yet. It is taken at
//   the first output line feed where the cursor's line reads exactly the previous line's prompt
//   followed by the keys typed, or the keys alone (the terminal's own echo of input typed while
//   the previous command ran, before the shell prompts), at the time of its own Enter; lines typed
//   ahead before it that never showed so are dropped (unechoed). A typed-ahead line holding an
//   editing key (arrows, tab, backspace: its echo cannot be predicted), or shown after another
//   prompt (a `cd` that changes it), is missed: the index may lack such a line, but never holds
//   what the screen did not show. An empty line typed while such lines still wait counts as typed
//   ahead too.
// - Unechoed input: a TTY command is what the terminal showed, never the keystrokes. Input the
//   terminal did not echo (a password prompt, `read -s`, `stty -echo`) leaves the line empty
//   after its prompt, and an empty line is never a command: the keystrokes stay out of the index.
//
// Memory: one screen of cells, the current line and at most 64 typed-ahead lines; constant in
// the session's length.
#ifndef PODTAPE_PLAYER_COMMAND_INDEX_H_
#define PODTAPE_PLAYER_COMMAND_INDEX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "schema/status.h"
#include "schema/store.h"

namespace podtape::player {

struct IndexedCommand {
  int64_t t_ns = 0;  // session time of the Enter (0 for the exec argv)
  std::string text;  // UTF-8, one line
};

// Receives commands in time order. A non-OK Status stops the extractor, which returns it.
using CommandSink = std::function<Status(const IndexedCommand&)>;

class CommandExtractor {
 public:
  struct Options {
    bool tty = false;
    int cols = 80;  // initial terminal size (TTY); 0 means 80x24
    int rows = 24;
    std::vector<std::string> argv;  // exec argv (the first command); empty for attach
  };
  static Options ForSession(const store::SessionRow& row);

  CommandExtractor(Options options, CommandSink sink);
  ~CommandExtractor();
  CommandExtractor(const CommandExtractor&) = delete;
  CommandExtractor& operator=(const CommandExtractor&) = delete;

  Status OnFrame(const store::FrameView& frame);
  // No command sent to the sink from now on has a t_ns below this (session ns).
  int64_t Watermark() const;
  // Takes a line still waiting for the output, and an unterminated non-TTY line.
  Status Finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Every command of a stored session, in time order (reads the frames once).
Result<std::vector<IndexedCommand>> ExtractCommands(store::Store& store,
                                                    const store::SessionRow& row);

// argv as one shell-readable line (see the rules above).
std::string JoinArgv(const std::vector<std::string>& argv);

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_COMMAND_INDEX_H_
