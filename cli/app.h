// The podtape command line: one subcommand table, one Register function per subcommand file.
//
// Contract for a subcommand file (cli/<name>_command.cc):
// - RegisterX(app, globals) adds a CLI11 subcommand whose options fill a plain options struct and
//   whose callback sets globals.run to the function that runs it (so parsing is testable alone);
// - the run function returns the process exit code; failures are returned as a Status and main
//   prints them once, as "error: <message>" on stderr (the form kubectl uses).
#ifndef PODTAPE_CLI_APP_H_
#define PODTAPE_CLI_APP_H_

#include <functional>
#include <string>
#include <vector>

#include "schema/status.h"

namespace CLI {
class App;
}

namespace podtape::cli {

// Options every subcommand shares. Filled by CLI11 before a subcommand's callback runs.
struct Globals {
  std::string db_flag;  // --db; empty when not given
  int verbosity = 0;    // -v N, as kubectl
  // Set by the chosen subcommand's callback: runs it and returns the exit code or a Status.
  std::function<Result<int>()> run;
  // The raw arguments, as given to Main (exec checks that its command follows "--").
  std::vector<std::string> argv;
};

// The store path: --db, else $PODTAPE_DB, else $XDG_DATA_HOME/podtape/podtape.db, else
// $HOME/.local/share/podtape/podtape.db. `env` looks up an environment variable (nullptr if
// unset); it is a parameter so tests need not touch the process environment.
Result<std::string> ResolveDbPath(const std::string& db_flag,
                                  const std::function<const char*(const char*)>& env);
Result<std::string> ResolveDbPath(const Globals& globals);

// Subcommands (one file each); added to kCommands in app.cc once they work.
void RegisterExec(CLI::App& app, Globals& globals);    // cli/exec_command.cc
void RegisterAttach(CLI::App& app, Globals& globals);  // cli/attach_command.cc
void RegisterLs(CLI::App& app, Globals& globals);      // cli/ls_command.cc
void RegisterPlay(CLI::App& app, Globals& globals);    // cli/play_command.cc
void RegisterCat(CLI::App& app, Globals& globals);     // cli/cat_command.cc
void RegisterExport(CLI::App& app, Globals& globals);  // cli/export_command.cc
void RegisterImport(CLI::App& app, Globals& globals);  // cli/import_command.cc
void RegisterProxy(CLI::App& app, Globals& globals);   // cli/proxy_command.cc
void RegisterVerify(CLI::App& app, Globals& globals);  // cli/verify_command.cc
void RegisterPrune(CLI::App& app, Globals& globals);   // cli/prune_command.cc
void RegisterSearch(CLI::App& app, Globals& globals);  // cli/search_command.cc
void RegisterAudit(CLI::App& app, Globals& globals);   // cli/audit_command.cc
void RegisterIndex(CLI::App& app, Globals& globals);   // cli/index_command.cc

// Starts `podtape --db DB_PATH index --background` with stdio on /dev/null, no signal blocked
// and every signal at its default action (whatever the caller blocks), `detached` in a session
// of its own; returns its pid at once, or -1 (cli/index_command.cc).
int SpawnIndexer(const std::string& db_path, bool detached);
// SpawnIndexer(db_path, true) unless PODTAPE_NO_INDEX is set; nobody waits for it.
void StartBackgroundIndexer(const std::string& db_path);

// Parses argv, runs the chosen subcommand, prints any error once. Returns the exit code.
int Main(int argc, char** argv);

}  // namespace podtape::cli

#endif  // PODTAPE_CLI_APP_H_
