// podtape cat SESSION [--channels stdout,stderr,stdin]
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/app.h"
#include "player/export.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct CatOptions {
  std::string session;
  std::string channels = "stdout,stderr";
};

Result<int> RunCat(const CatOptions& o, const Globals& globals) {
  Result<player::CatChannels> channels = player::ParseCatChannels(o.channels);
  if (!channels.ok()) return channels.status();
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  auto row = (*store)->Find(o.session);
  if (!row.ok()) return row.status();
  player::FdSink out(1, "standard output");
  PODTAPE_RETURN_IF_ERROR(player::CatSession(**store, *row, *channels, &out));
  return 0;
}

}  // namespace

void RegisterCat(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<CatOptions>();
  CLI::App* cmd = app.add_subcommand("cat", "write a session's output bytes, in order");
  cmd->add_option("session", o->session, "full id, short id (as ls shows) or last")
      ->required()
      ->type_name("SESSION");
  cmd->add_option("--channels", o->channels,
                  "which streams, comma-separated: stdout, stderr, stdin (default stdout,stderr)")
      ->type_name("LIST");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunCat(*o, globals); }; });
}

}  // namespace podtape::cli
