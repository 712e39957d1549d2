#include "recorder/request_path.h"

#include <array>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/string_token.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace podtape::kube {
namespace urls = boost::urls;
namespace {

// Go's url.QueryEscape: only RFC 3986 unreserved characters stay; space becomes '+'.
void AppendQueryValue(std::string& out, std::string_view value) {
  urls::encoding_opts opts;
  opts.space_as_plus = true;
  urls::encode(value, urls::unreserved_chars, opts, urls::string_token::append_to(out));
}

void AppendSegment(std::string& out, std::string_view segment) {
  out += '/';
  urls::encode(segment, urls::pchars, {}, urls::string_token::append_to(out));
}

void AppendPodPath(std::string& out, std::string_view path_prefix, std::string_view namespace_,
                   std::string_view pod) {
  out += path_prefix;
  out += "/api/v1/namespaces";
  AppendSegment(out, namespace_);
  out += "/pods";
  AppendSegment(out, pod);
}

void AppendQuery(std::string& out, const StreamRequest& request) {
  // Keys in the sorted order url.Values.Encode() writes them.
  bool first = true;
  auto key = [&](std::string_view name) {
    if (!first) out += '&';
    first = false;
    out += name;
    out += '=';
  };
  if (request.subresource == Subresource::kExec) {
    for (const std::string& arg : request.command) {
      key("command");
      AppendQueryValue(out, arg);
    }
  }
  if (!request.container.empty()) {
    key("container");
    AppendQueryValue(out, request.container);
  }
  const std::array<std::pair<std::string_view, bool>, 4> flags = {{
      {"stderr", request.use_stderr},
      {"stdin", request.use_stdin},
      {"stdout", request.use_stdout},
      {"tty", request.tty},
  }};
  for (const auto& [name, on] : flags) {
    if (!on) continue;
    key(name);
    out += "true";
  }
}

}  // namespace

std::string PodPath(std::string_view path_prefix, std::string_view namespace_,
                    std::string_view pod) {
  std::string out;
  AppendPodPath(out, path_prefix, namespace_, pod);
  return out;
}

std::string StreamRequestTarget(std::string_view path_prefix, const StreamRequest& request) {
  std::string out;
  out.reserve(128);
  AppendPodPath(out, path_prefix, request.namespace_, request.pod);
  out += request.subresource == Subresource::kExec ? "/exec?" : "/attach?";
  const size_t query_start = out.size();
  AppendQuery(out, request);
  if (out.size() == query_start) out.pop_back();  // no parameters: no '?', as Go writes it
  return out;
}

std::string StreamRequestQuery(const StreamRequest& request) {
  std::string out;
  AppendQuery(out, request);
  return out;
}

}  // namespace podtape::kube
