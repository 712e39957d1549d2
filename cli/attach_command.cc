// podtape attach [-n NS] [-c CONTAINER] [-i] [-t] [-q] POD
#include <CLI/CLI.hpp>
#include <memory>

#include "cli/app.h"
#include "cli/session_flags.h"

namespace podtape::cli {

void RegisterAttach(CLI::App& app, Globals& globals) {
  auto values = std::make_shared<SessionFlagValues>();
  values->options.subresource = kube::Subresource::kAttach;
  CLI::App* cmd = app.add_subcommand(
      "attach", "attach to a running container, as kubectl attach, and record the session");
  AddSessionFlags(cmd, values.get());
  cmd->add_option("pod", values->options.pod, "the pod")->type_name("POD")->required();
  cmd->callback([values, &globals] {
    globals.run = [values, &globals]() -> Result<int> {
      return RunSessionCommand(values.get(), globals);
    };
  });
}

}  // namespace podtape::cli
