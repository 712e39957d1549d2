#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "podtape_version.h"

namespace podtape::cli {
namespace {

// One Register function per subcommand that works, in the order --help lists them. Each is
// defined in its own cli/<name>_command.cc and declared in cli/app.h.
using RegisterFn = void (*)(CLI::App& app, Globals& globals);
const std::vector<RegisterFn> kCommands = {
    RegisterExec,   RegisterAttach, RegisterLs,    RegisterPlay,   RegisterCat,
    RegisterExport, RegisterImport, RegisterProxy, RegisterVerify, RegisterPrune,
    RegisterSearch, RegisterAudit,  RegisterIndex};

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{
      "podtape records Kubernetes exec and attach sessions into SQLite and plays them back."};
  app.name("podtape");
  app.set_version_flag("--version", std::string("podtape ") + PODTAPE_VERSION);
  app.require_subcommand(0, 1);
  Globals globals;
  globals.argv.assign(argv, argv + argc);
  app.add_option("--db", globals.db_flag,
                 "SQLite store (default: $PODTAPE_DB, else "
                 "$XDG_DATA_HOME/podtape/podtape.db, else ~/.local/share/podtape/podtape.db)")
      ->type_name("PATH");
  app.add_option("-v,--v", globals.verbosity,
                 "log level as kubectl: 0 quiet ... 6 requests ... 9 wire")
      ->type_name("N");
  for (RegisterFn add : kCommands) add(app, globals);
  // Global flags work before or after the subcommand, as in kubectl.
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!globals.run) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  Result<int> rc = globals.run();
  if (!rc.ok()) {
    std::fprintf(stderr, "error: %s\n", rc.status().message().c_str());
    return 1;
  }
  return *rc;
}

}  // namespace podtape::cli
