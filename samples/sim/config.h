// podtape-sim's configuration: the pods, containers and users it simulates, read from YAML
// (samples/cluster.yaml is the documented example). Plain data; no Beast, no process handling.
#ifndef PODTAPE_SAMPLES_SIM_CONFIG_H_
#define PODTAPE_SAMPLES_SIM_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "schema/status.h"

namespace podtape::sim {

struct UserConfig {
  std::string name;
  std::string token;                // bearer token accepted over HTTPS; empty = none
  std::vector<std::string> groups;  // besides system:authenticated, which every user has
  bool exec = false;                // may use pods/exec and pods/attach
  bool impersonate = false;         // Impersonate-User / Impersonate-Group are honoured
};

struct ContainerConfig {
  std::string name;
  std::string image = "busybox:1.36";
  bool stdin = false;  // the spec's stdin: attach may write to the main process
  bool tty = false;    // the spec's tty: the main process runs on a PTY
  // The main process, started with the simulator (attach and logs join it); restarted one
  // second after it exits, as restartPolicy Always does. Empty: `sleep infinity`-like idle.
  std::vector<std::string> command;
  std::string workdir;  // absolute; empty: created as RUNTIME_DIR/NAMESPACE/POD/CONTAINER
  std::map<std::string, std::string> env;
};

struct PodConfig {
  std::string namespace_name = "default";
  std::string name;
  std::string uid;                // generated from the name when not given
  std::string phase = "Running";  // Running, Succeeded, Failed, Pending
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  // Empty, or one of the hostile modes documented in samples/README.md: exec and attach on
  // this pod then misbehave on the wire in that way instead of running anything.
  std::string hostile;
  std::vector<ContainerConfig> containers;
};

struct Config {
  std::string git_version = "v1.32.4";  // what /version reports
  bool websocket_v5 = true;         // false: an API server without the v5 translator (before 1.30)
  std::string http_user = "alice";  // who plain-HTTP requests run as (no credentials there)
  std::string runtime_dir;          // where working directories are made; empty: a temp dir
  std::vector<UserConfig> users;
  std::vector<PodConfig> pods;

  const UserConfig* FindUser(std::string_view name) const;
  const PodConfig* FindPod(std::string_view ns, std::string_view name) const;
};

// Reads and validates the YAML file. Errors name the file and the key at fault.
Result<Config> LoadConfig(const std::string& path);

// The hostile modes a pod may name (see samples/README.md).
const std::vector<std::string>& HostileModes();

}  // namespace podtape::sim

#endif  // PODTAPE_SAMPLES_SIM_CONFIG_H_
