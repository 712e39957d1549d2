// Flags shared by `podtape exec` and `podtape attach` (cli/exec_command.cc,
// cli/attach_command.cc): kubectl's connection flags and the session flags, parsed into
// recorder::SessionOptions.
#ifndef PODTAPE_CLI_SESSION_FLAGS_H_
#define PODTAPE_CLI_SESSION_FLAGS_H_

#include <memory>

#include "cli/app.h"
#include "recorder/record_session.h"

namespace CLI {
class Option;
}  // namespace CLI

namespace podtape::cli {

// What the shared flags fill; owned by the subcommand (lives as long as the CLI::App).
struct SessionFlagValues {
  recorder::SessionOptions options;
  bool insecure_skip_tls_verify = false;  // copied into options.flags when given
  CLI::Option* insecure_option = nullptr;
  std::string sign_key;  // --sign-key: Ed25519 PEM private key; empty: seals are not signed
};

// Adds -n, -c, -i, -t, -q, the connection flags, --title, --fail-open and --protocols to `cmd`.
void AddSessionFlags(CLI::App* cmd, SessionFlagValues* values);

// Completes the options from the globals (store path, -v, version) and runs the session.
Result<int> RunSessionCommand(SessionFlagValues* values, const Globals& globals);

}  // namespace podtape::cli

#endif  // PODTAPE_CLI_SESSION_FLAGS_H_
