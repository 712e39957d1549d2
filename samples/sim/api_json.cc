#include "samples/sim/api_json.h"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace podtape::sim {
namespace json = boost::json;
namespace {

json::object Meta(const PodConfig& pod, const std::string& started_at) {
  json::object meta{{"name", pod.name},
                    {"namespace", pod.namespace_name},
                    {"uid", pod.uid},
                    {"resourceVersion", "1"},
                    {"creationTimestamp", started_at}};
  if (!pod.labels.empty()) {
    json::object labels;
    for (const auto& [k, v] : pod.labels) labels[k] = v;
    meta["labels"] = std::move(labels);
  }
  if (!pod.annotations.empty()) {
    json::object annotations;
    for (const auto& [k, v] : pod.annotations) annotations[k] = v;
    meta["annotations"] = std::move(annotations);
  }
  return meta;
}

json::object PodObject(const PodConfig& pod, const std::string& started_at) {
  const bool running = pod.phase == "Running";
  json::array containers;
  json::array statuses;
  for (const auto& c : pod.containers) {
    json::object spec{{"name", c.name},
                      {"image", c.image},
                      {"resources", json::object{}},
                      {"terminationMessagePath", "/dev/termination-log"},
                      {"terminationMessagePolicy", "File"},
                      {"imagePullPolicy", "IfNotPresent"}};
    if (!c.command.empty()) spec["command"] = json::value_from(c.command);
    if (!c.workdir.empty()) spec["workingDir"] = c.workdir;
    if (!c.env.empty()) {
      json::array env;
      for (const auto& [k, v] : c.env) env.push_back(json::object{{"name", k}, {"value", v}});
      spec["env"] = std::move(env);
    }
    if (c.stdin) spec["stdin"] = true;
    if (c.tty) spec["tty"] = true;
    containers.push_back(std::move(spec));

    json::object state;
    if (running) {
      state["running"] = json::object{{"startedAt", started_at}};
    } else if (pod.phase == "Pending") {
      state["waiting"] = json::object{{"reason", "ContainerCreating"}};
    } else {
      state["terminated"] =
          json::object{{"exitCode", pod.phase == "Succeeded" ? 0 : 1},
                       {"reason", pod.phase == "Succeeded" ? "Completed" : "Error"},
                       {"startedAt", started_at},
                       {"finishedAt", started_at},
                       {"containerID", "containerd://" + pod.uid + "-" + c.name}};
    }
    statuses.push_back(json::object{{"name", c.name},
                                    {"state", std::move(state)},
                                    {"lastState", json::object{}},
                                    {"ready", running},
                                    {"restartCount", 0},
                                    {"image", c.image},
                                    {"imageID", "docker.io/library/" + c.image},
                                    {"containerID", "containerd://" + pod.uid + "-" + c.name},
                                    {"started", running}});
  }
  const char* ready = running ? "True" : "False";
  json::array conditions;
  for (const char* type : {"Initialized", "Ready", "ContainersReady", "PodScheduled"}) {
    conditions.push_back(json::object{{"type", type},
                                      {"status", std::string_view(type) == "Initialized" ||
                                                         std::string_view(type) == "PodScheduled"
                                                     ? "True"
                                                     : ready},
                                      {"lastProbeTime", nullptr},
                                      {"lastTransitionTime", started_at}});
  }
  return json::object{{"kind", "Pod"},
                      {"apiVersion", "v1"},
                      {"metadata", Meta(pod, started_at)},
                      {"spec", json::object{{"containers", std::move(containers)},
                                            {"restartPolicy", running ? "Always" : "Never"},
                                            {"terminationGracePeriodSeconds", 30},
                                            {"dnsPolicy", "ClusterFirst"},
                                            {"serviceAccountName", "default"},
                                            {"nodeName", "podtape-sim"},
                                            {"schedulerName", "default-scheduler"}}},
                      {"status", json::object{{"phase", pod.phase},
                                              {"conditions", std::move(conditions)},
                                              {"hostIP", "127.0.0.1"},
                                              {"podIP", "127.0.0.1"},
                                              {"startTime", started_at},
                                              {"containerStatuses", std::move(statuses)},
                                              {"qosClass", "BestEffort"}}}};
}

json::object Resource(std::string_view name, std::string_view singular, std::string_view kind,
                      bool namespaced, std::initializer_list<std::string_view> verbs,
                      std::initializer_list<std::string_view> short_names = {}) {
  json::object r{{"name", name},
                 {"singularName", singular},
                 {"namespaced", namespaced},
                 {"kind", kind},
                 {"verbs", json::array(verbs.begin(), verbs.end())}};
  if (short_names.size()) r["shortNames"] = json::array(short_names.begin(), short_names.end());
  return r;
}

}  // namespace

std::string VersionJson(const Config& config) {
  // "v1.32.4" -> major "1", minor "32".
  std::string major = "1", minor = "32";
  std::string_view v = config.git_version;
  if (v.starts_with("v")) v.remove_prefix(1);
  if (auto dot = v.find('.'); dot != std::string_view::npos) {
    major = std::string(v.substr(0, dot));
    std::string_view rest = v.substr(dot + 1);
    minor = std::string(rest.substr(0, rest.find('.')));
  }
  return json::serialize(json::object{{"major", major},
                                      {"minor", minor},
                                      {"gitVersion", config.git_version},
                                      {"gitCommit", "0000000000000000000000000000000000000000"},
                                      {"gitTreeState", "clean"},
                                      {"buildDate", "2026-01-01T00:00:00Z"},
                                      {"goVersion", "go1.23.0"},
                                      {"compiler", "gc"},
                                      {"platform", "linux/amd64"}});
}

std::string ApiVersionsJson(std::string_view server_address) {
  return json::serialize(json::object{
      {"kind", "APIVersions"},
      {"versions", json::array{"v1"}},
      {"serverAddressByClientCIDRs",
       json::array{json::object{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}});
}

std::string ApiGroupListJson() {
  json::object version{{"groupVersion", "authentication.k8s.io/v1"}, {"version", "v1"}};
  return json::serialize(
      json::object{{"kind", "APIGroupList"},
                   {"apiVersion", "v1"},
                   {"groups", json::array{json::object{{"name", "authentication.k8s.io"},
                                                       {"versions", json::array{version}},
                                                       {"preferredVersion", version}}}}});
}

std::string ApiV1ResourcesJson() {
  json::array resources{
      Resource("namespaces", "namespace", "Namespace", false, {"get", "list", "watch"}, {"ns"}),
      Resource("pods", "pod", "Pod", true, {"get", "list", "watch"}, {"po"}),
      Resource("pods/attach", "", "PodAttachOptions", true, {"create", "get"}),
      Resource("pods/exec", "", "PodExecOptions", true, {"create", "get"}),
      Resource("pods/log", "", "Pod", true, {"get"}),
  };
  resources[1].as_object()["categories"] = json::array{"all"};
  return json::serialize(json::object{
      {"kind", "APIResourceList"}, {"groupVersion", "v1"}, {"resources", std::move(resources)}});
}

std::string AuthenticationV1ResourcesJson() {
  return json::serialize(json::object{
      {"kind", "APIResourceList"},
      {"apiVersion", "v1"},
      {"groupVersion", "authentication.k8s.io/v1"},
      {"resources",
       json::array{Resource("selfsubjectreviews", "selfsubjectreview", "SelfSubjectReview", false,
                            {"create"}),
                   Resource("tokenreviews", "tokenreview", "TokenReview", false, {"create"})}}});
}

std::string PodJson(const PodConfig& pod, const std::string& started_at) {
  return json::serialize(PodObject(pod, started_at));
}

std::string PodListJson(const std::vector<const PodConfig*>& pods, const std::string& started_at,
                        bool table) {
  if (!table) {
    json::array items;
    for (const PodConfig* p : pods) items.push_back(PodObject(*p, started_at));
    return json::serialize(json::object{{"kind", "PodList"},
                                        {"apiVersion", "v1"},
                                        {"metadata", json::object{{"resourceVersion", "1"}}},
                                        {"items", std::move(items)}});
  }
  auto column = [](std::string_view name, std::string_view type, std::string_view format,
                   int priority) {
    return json::object{{"name", name},
                        {"type", type},
                        {"format", format},
                        {"description", ""},
                        {"priority", priority}};
  };
  json::array columns{column("Name", "string", "name", 0), column("Ready", "string", "", 0),
                      column("Status", "string", "", 0),   column("Restarts", "string", "", 0),
                      column("Age", "string", "", 0),      column("IP", "string", "", 1),
                      column("Node", "string", "", 1)};
  json::array rows;
  for (const PodConfig* p : pods) {
    const size_t n = p->containers.size();
    const size_t ready = p->phase == "Running" ? n : 0;
    const char* status = p->phase == "Succeeded" ? "Completed"
                         : p->phase == "Failed"  ? "Error"
                                                 : p->phase.c_str();
    json::object partial{{"kind", "PartialObjectMetadata"},
                         {"apiVersion", "meta.k8s.io/v1"},
                         {"metadata", Meta(*p, started_at)}};
    rows.push_back(
        json::object{{"cells", json::array{p->name, fmt::format("{}/{}", ready, n), status, "0",
                                           "1m", "127.0.0.1", "podtape-sim"}},
                     {"object", std::move(partial)}});
  }
  return json::serialize(json::object{{"kind", "Table"},
                                      {"apiVersion", "meta.k8s.io/v1"},
                                      {"metadata", json::object{{"resourceVersion", "1"}}},
                                      {"columnDefinitions", std::move(columns)},
                                      {"rows", std::move(rows)}});
}

std::string WatchEventJson(const PodConfig& pod, const std::string& started_at) {
  std::string line =
      json::serialize(json::object{{"type", "ADDED"}, {"object", PodObject(pod, started_at)}});
  line += '\n';
  return line;
}

std::string ErrorStatusJson(int code, std::string_view reason, std::string_view message,
                            std::string_view details_name, std::string_view details_kind) {
  json::object s{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object{}},
                 {"status", "Failure"}, {"message", message}, {"reason", reason}};
  if (!details_kind.empty()) {
    s["details"] = json::object{{"name", details_name}, {"kind", details_kind}};
  }
  s["code"] = code;
  return json::serialize(s);
}

std::string SuccessStatusJson() {
  return json::serialize(json::object{{"metadata", json::object{}}, {"status", "Success"}});
}

std::string ExitCodeText(int exit_code, const std::vector<std::string>& argv) {
  // containerd's CodeExitError text: "error executing command [sh -c exit 3], exit code 3".
  return fmt::format(
      "command terminated with non-zero exit code: error executing command [{}], exit code {}",
      fmt::join(argv, " "), exit_code);
}

std::string ExitCodeStatusJson(int exit_code, bool translator,
                               const std::vector<std::string>& argv) {
  std::string message = translator
                            ? fmt::format(
                                  "command terminated with non-zero exit code: command terminated "
                                  "with exit code {}",
                                  exit_code)
                            : ExitCodeText(exit_code, argv);
  return json::serialize(json::object{
      {"metadata", json::object{}},
      {"status", "Failure"},
      {"message", message},
      {"reason", "NonZeroExitCode"},
      {"details", json::object{{"causes", json::array{json::object{
                                              {"reason", "ExitCode"},
                                              {"message", std::to_string(exit_code)}}}}}}});
}

std::string FailureStatusJson(int code, std::string_view reason, std::string_view message) {
  return json::serialize(json::object{{"metadata", json::object{}},
                                      {"status", "Failure"},
                                      {"message", message},
                                      {"reason", reason},
                                      {"code", code}});
}

std::string InternalErrorStatusJson(std::string_view err) {
  return json::serialize(json::object{
      {"metadata", json::object{}},
      {"status", "Failure"},
      {"message", fmt::format("Internal error occurred: {}", err)},
      {"reason", "InternalError"},
      {"details", json::object{{"causes", json::array{json::object{{"message", err}}}}}},
      {"code", 500}});
}

std::string SelfSubjectReviewJson(std::string_view user, const std::vector<std::string>& groups) {
  return json::serialize(json::object{
      {"kind", "SelfSubjectReview"},
      {"apiVersion", "authentication.k8s.io/v1"},
      {"metadata", json::object{{"creationTimestamp", nullptr}}},
      {"status", json::object{{"userInfo", json::object{{"username", user},
                                                        {"groups", json::value_from(groups)}}}}}});
}

}  // namespace podtape::sim
