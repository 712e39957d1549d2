// The JSON documents podtape-sim serves, built with Boost.JSON in the shapes kube-apiserver
// uses (field names, kinds, apiVersions). No Beast, no I/O.
#ifndef PODTAPE_SAMPLES_SIM_API_JSON_H_
#define PODTAPE_SAMPLES_SIM_API_JSON_H_

#include <string>
#include <string_view>
#include <vector>

#include "samples/sim/config.h"

namespace podtape::sim {

// GET /version.
std::string VersionJson(const Config& config);
// GET /api, /apis, /api/v1 (discovery as kubectl 1.27-1.33 reads it, legacy JSON form).
std::string ApiVersionsJson(std::string_view server_address);
std::string ApiGroupListJson();
std::string ApiV1ResourcesJson();
// GET /apis/authentication.k8s.io/v1 (so kubectl auth whoami finds the resource).
std::string AuthenticationV1ResourcesJson();

// A pod object; `started_at` is the simulator's start time (RFC 3339).
std::string PodJson(const PodConfig& pod, const std::string& started_at);
// A PodList of the pods given, or a meta.k8s.io/v1 Table when `table` (what `kubectl get` asks).
std::string PodListJson(const std::vector<const PodConfig*>& pods, const std::string& started_at,
                        bool table);
// One watch event line: {"type":"ADDED","object":{...}}\n
std::string WatchEventJson(const PodConfig& pod, const std::string& started_at);

// A metav1.Status error body as the API server writes it before an upgrade (kind, apiVersion,
// metadata, status Failure, message, reason, details when `details_kind` is given, code).
std::string ErrorStatusJson(int code, std::string_view reason, std::string_view message,
                            std::string_view details_name = {}, std::string_view details_kind = {});

// Channel-3 statuses (no kind/apiVersion, as the streaming servers write them; PROTOCOL.md 2.6).
std::string SuccessStatusJson();  // {"metadata":{},"status":"Success"}
// v5 (the translator's message) or v4 (the runtime's message, with the argv) non-zero exit.
std::string ExitCodeStatusJson(int exit_code, bool translator,
                               const std::vector<std::string>& argv);
// Pre-v4 plain text of the same failure.
std::string ExitCodeText(int exit_code, const std::vector<std::string>& argv);
// Any other failure on channel 3, e.g. 400 BadRequest: {"metadata":{},"status":"Failure",...}.
std::string FailureStatusJson(int code, std::string_view reason, std::string_view message);
// InternalError (code 500) with `err` as message cause.
std::string InternalErrorStatusJson(std::string_view err);

// SelfSubjectReview answer for the caller.
std::string SelfSubjectReviewJson(std::string_view user, const std::vector<std::string>& groups);

}  // namespace podtape::sim

#endif  // PODTAPE_SAMPLES_SIM_API_JSON_H_
