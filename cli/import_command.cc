// podtape import FILE.cast
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/app.h"
#include "player/import.h"
#include "podtape_version.h"
#include "schema/store.h"

namespace podtape::cli {
namespace {

struct ImportOptions {
  std::string file;
};

std::string LocalUser() {
  if (struct passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  const char* u = std::getenv("USER");
  return u ? u : "";
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

Result<int> RunImport(const ImportOptions& o, const Globals& globals) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) {
    return Status::NotFound("cannot open " + o.file + ": check the path of the .cast file");
  }
  Result<std::string> path = ResolveDbPath(globals);
  if (!path.ok()) return path.status();
  auto store = store::Store::Open(*path);
  if (!store.ok()) return store.status();
  store::SessionMeta base;
  base.local_user = LocalUser();
  base.host = HostName();
  base.recorder_version = PODTAPE_VERSION;
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto result = player::ImportCast(&in, o.file, **store, base, now);
  if (!result.ok()) return result.status();
  auto row = (*store)->Find(result->session_id);
  std::string shown = row.ok() ? row->short_id : result->session_id;
  std::printf("imported %s as session %s (%lld events", o.file.c_str(), shown.c_str(),
              static_cast<long long>(result->events));
  if (result->skipped > 0) std::printf(", %d of unknown types skipped", result->skipped);
  std::printf(")\n");
  return 0;
}

}  // namespace

void RegisterImport(CLI::App& app, Globals& globals) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* cmd =
      app.add_subcommand("import", "store an asciicast v2 or v3 file as a session (kind import)");
  cmd->add_option("file", o->file, "the .cast file")->required()->type_name("FILE.cast");
  cmd->callback([o, &globals] { globals.run = [o, &globals] { return RunImport(*o, globals); }; });
}

}  // namespace podtape::cli
