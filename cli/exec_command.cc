// podtape exec [-n NS] [-c CONTAINER] [-i] [-t] [-q] POD -- COMMAND [ARG...]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>

#include "cli/app.h"
#include "cli/session_flags.h"

namespace podtape::cli {

void RegisterExec(CLI::App& app, Globals& globals) {
  auto values = std::make_shared<SessionFlagValues>();
  values->options.subresource = kube::Subresource::kExec;
  CLI::App* cmd = app.add_subcommand(
      "exec", "run a command in a container, as kubectl exec, and record the session");
  AddSessionFlags(cmd, values.get());
  cmd->add_option("pod", values->options.pod, "the pod")->type_name("POD");
  cmd->add_option("command", values->options.command, "the command and its arguments, after --")
      ->type_name("COMMAND");
  cmd->callback([values, &globals] {
    globals.run = [values, &globals]() -> Result<int> {
      recorder::SessionOptions& o = values->options;
      // As kubectl: the command must follow "--" (else "-c x" meant for the command would be
      // taken as the container flag).
      bool dash = std::find(globals.argv.begin(), globals.argv.end(), "--") != globals.argv.end();
      if (!o.command.empty() && !dash) {
        return Status::InvalidArgument(
            "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead");
      }
      return RunSessionCommand(values.get(), globals);
    };
  });
}

}  // namespace podtape::cli
