#include "samples/sim/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace podtape::sim {
namespace {

// yaml-cpp throws on a wrong type; these helpers say which key was wrong instead.
struct ConfigError {
  std::string message;
};

std::string Str(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) throw ConfigError{where + " must be a string"};
  return node.as<std::string>();
}

bool Bool(const YAML::Node& node, const std::string& where) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    throw ConfigError{where + " must be true or false"};
  }
  return value;
}

std::vector<std::string> StrList(const YAML::Node& node, const std::string& where) {
  if (!node.IsSequence()) throw ConfigError{where + " must be a list of strings"};
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i)
    out.push_back(Str(node[i], fmt::format("{}[{}]", where, i)));
  return out;
}

std::map<std::string, std::string> StrMap(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) throw ConfigError{where + " must be a map of strings"};
  std::map<std::string, std::string> out;
  for (const auto& kv : node) {
    std::string key = Str(kv.first, where + " key");
    out[key] = Str(kv.second, where + "." + key);
  }
  return out;
}

void CheckKeys(const YAML::Node& node, const std::string& where, std::set<std::string> known) {
  if (!node.IsMap()) throw ConfigError{where + " must be a map"};
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!known.count(key)) throw ConfigError{fmt::format("unknown key {}.{}", where, key)};
  }
}

ContainerConfig ParseContainer(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where, {"name", "image", "stdin", "tty", "command", "workingDir", "env"});
  ContainerConfig c;
  if (!node["name"]) throw ConfigError{where + ".name is missing"};
  c.name = Str(node["name"], where + ".name");
  if (node["image"]) c.image = Str(node["image"], where + ".image");
  if (node["stdin"]) c.stdin = Bool(node["stdin"], where + ".stdin");
  if (node["tty"]) c.tty = Bool(node["tty"], where + ".tty");
  if (node["command"]) c.command = StrList(node["command"], where + ".command");
  if (node["workingDir"]) c.workdir = Str(node["workingDir"], where + ".workingDir");
  if (node["env"]) c.env = StrMap(node["env"], where + ".env");
  return c;
}

PodConfig ParsePod(const YAML::Node& node, const std::string& where) {
  CheckKeys(
      node, where,
      {"name", "namespace", "uid", "phase", "annotations", "labels", "hostile", "containers"});
  PodConfig p;
  if (!node["name"]) throw ConfigError{where + ".name is missing"};
  p.name = Str(node["name"], where + ".name");
  if (node["namespace"]) p.namespace_name = Str(node["namespace"], where + ".namespace");
  if (node["uid"]) p.uid = Str(node["uid"], where + ".uid");
  if (node["phase"]) p.phase = Str(node["phase"], where + ".phase");
  static const std::set<std::string> kPhases = {"Pending", "Running", "Succeeded", "Failed"};
  if (!kPhases.count(p.phase)) {
    throw ConfigError{where + ".phase must be Pending, Running, Succeeded or Failed"};
  }
  if (node["annotations"]) p.annotations = StrMap(node["annotations"], where + ".annotations");
  if (node["labels"]) p.labels = StrMap(node["labels"], where + ".labels");
  if (node["hostile"]) {
    p.hostile = Str(node["hostile"], where + ".hostile");
    const auto& modes = HostileModes();
    if (std::find(modes.begin(), modes.end(), p.hostile) == modes.end()) {
      throw ConfigError{fmt::format("{}.hostile: unknown mode \"{}\"; known: {}", where, p.hostile,
                                    fmt::join(modes, ", "))};
    }
  }
  const YAML::Node containers = node["containers"];
  if (!containers || !containers.IsSequence() || containers.size() == 0) {
    throw ConfigError{where + ".containers must list at least one container"};
  }
  std::set<std::string> names;
  for (size_t i = 0; i < containers.size(); ++i) {
    p.containers.push_back(
        ParseContainer(containers[i], fmt::format("{}.containers[{}]", where, i)));
    if (!names.insert(p.containers.back().name).second) {
      throw ConfigError{
          fmt::format("{}: container {} appears twice", where, p.containers.back().name)};
    }
  }
  if (p.uid.empty()) {
    // Stable per namespace/name, in the UUID shape the API server uses.
    size_t h = std::hash<std::string>{}(p.namespace_name + "/" + p.name);
    p.uid = fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", static_cast<uint32_t>(h),
                        static_cast<uint16_t>(h >> 32), static_cast<uint16_t>(h >> 48) & 0xfff,
                        static_cast<uint16_t>(h >> 20) & 0xfff, (h * 0x9e3779b97f4a7c15ULL) >> 16);
  }
  return p;
}

UserConfig ParseUser(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, where, {"name", "token", "groups", "exec", "impersonate"});
  UserConfig u;
  if (!node["name"]) throw ConfigError{where + ".name is missing"};
  u.name = Str(node["name"], where + ".name");
  if (node["token"]) u.token = Str(node["token"], where + ".token");
  if (node["groups"]) u.groups = StrList(node["groups"], where + ".groups");
  if (node["exec"]) u.exec = Bool(node["exec"], where + ".exec");
  if (node["impersonate"]) u.impersonate = Bool(node["impersonate"], where + ".impersonate");
  return u;
}

}  // namespace

const std::vector<std::string>& HostileModes() {
  static const std::vector<std::string> kModes = {"garbage",    "unknown-channel", "oversize",
                                                  "bad-base64", "bad-status",      "text-frame",
                                                  "drop",       "stall",           "no-close"};
  return kModes;
}

const UserConfig* Config::FindUser(std::string_view name) const {
  for (const auto& u : users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

const PodConfig* Config::FindPod(std::string_view ns, std::string_view name) const {
  for (const auto& p : pods) {
    if (p.namespace_name == ns && p.name == name) return &p;
  }
  return nullptr;
}

Result<Config> LoadConfig(const std::string& path) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    CheckKeys(root, "config", {"apiServer", "httpUser", "runtimeDir", "users", "pods"});
    Config c;
    if (root["apiServer"]) {
      CheckKeys(root["apiServer"], "apiServer", {"gitVersion", "websocketV5"});
      if (root["apiServer"]["gitVersion"]) {
        c.git_version = Str(root["apiServer"]["gitVersion"], "apiServer.gitVersion");
      }
      if (root["apiServer"]["websocketV5"]) {
        c.websocket_v5 = Bool(root["apiServer"]["websocketV5"], "apiServer.websocketV5");
      }
    }
    if (root["httpUser"]) c.http_user = Str(root["httpUser"], "httpUser");
    if (root["runtimeDir"]) c.runtime_dir = Str(root["runtimeDir"], "runtimeDir");
    if (root["users"]) {
      if (!root["users"].IsSequence()) throw ConfigError{"users must be a list"};
      for (size_t i = 0; i < root["users"].size(); ++i) {
        c.users.push_back(ParseUser(root["users"][i], fmt::format("users[{}]", i)));
      }
    }
    if (root["pods"]) {
      if (!root["pods"].IsSequence()) throw ConfigError{"pods must be a list"};
      for (size_t i = 0; i < root["pods"].size(); ++i) {
        c.pods.push_back(ParsePod(root["pods"][i], fmt::format("pods[{}]", i)));
        const PodConfig& p = c.pods.back();
        for (size_t j = 0; j + 1 < c.pods.size(); ++j) {
          if (c.pods[j].name == p.name && c.pods[j].namespace_name == p.namespace_name) {
            throw ConfigError{fmt::format("pod {}/{} appears twice", p.namespace_name, p.name)};
          }
        }
      }
    }
    if (!c.http_user.empty() && !c.FindUser(c.http_user)) {
      throw ConfigError{"httpUser " + c.http_user + " is not in users"};
    }
    return c;
  } catch (const ConfigError& e) {
    return Status::InvalidArgument(fmt::format("config {}: {}", path, e.message));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("config {}: {}; fix the YAML", path, e.what()));
  }
}

}  // namespace podtape::sim
