#include <cstdlib>
#include <string>

#include "cli/app.h"

namespace podtape::cli {

Result<std::string> ResolveDbPath(const std::string& db_flag,
                                  const std::function<const char*(const char*)>& env) {
  if (!db_flag.empty()) return db_flag;
  if (const char* p = env("PODTAPE_DB"); p != nullptr && *p != '\0') return std::string(p);
  if (const char* x = env("XDG_DATA_HOME"); x != nullptr && *x == '/') {
    return std::string(x) + "/podtape/podtape.db";
  }
  const char* home = env("HOME");
  if (home == nullptr || *home == '\0') {
    return Status::InvalidArgument("cannot find the store: set --db, PODTAPE_DB or HOME");
  }
  return std::string(home) + "/.local/share/podtape/podtape.db";
}

Result<std::string> ResolveDbPath(const Globals& globals) {
  return ResolveDbPath(globals.db_flag, [](const char* name) { return std::getenv(name); });
}

}  // namespace podtape::cli
