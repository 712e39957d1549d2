// Request-target parsing for the proxy (no Beast here): which requests are exec/attach, and which
// nodes-proxy paths would bypass recording.
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <string>
#include <vector>

#include "recorder/proxy.h"

namespace podtape::recorder {

namespace {

std::vector<std::string> Segments(const boost::urls::url_view& url) {
  std::vector<std::string> out;
  for (auto seg : url.segments()) out.emplace_back(seg);
  return out;
}

}  // namespace

bool IsNodeProxyStreamPath(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return false;
  std::vector<std::string> segs = Segments(*parsed);
  // .../api/v1/nodes/NAME/proxy/<exec|attach|run|...>; any path prefix before "api".
  for (size_t i = 0; i + 3 < segs.size(); ++i) {
    if (segs[i] != "nodes" || segs[i + 2] != "proxy") continue;
    const std::string& what = segs[i + 3];
    if (what == "exec" || what == "attach" || what == "run" || what == "cri") return true;
  }
  return false;
}

StreamTarget ParseStreamTarget(std::string_view target) {
  StreamTarget t;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return t;
  std::vector<std::string> segs = Segments(*parsed);
  // .../api/v1/namespaces/NS/pods/NAME/(exec|attach)
  if (segs.size() < 7) return t;
  size_t n = segs.size();
  const std::string& sub = segs[n - 1];
  if (sub != "exec" && sub != "attach") return t;
  if (segs[n - 3] != "pods" || segs[n - 5] != "namespaces" || segs[n - 6] != "v1" ||
      segs[n - 7] != "api") {
    return t;
  }
  t.ok = true;
  t.attach = sub == "attach";
  t.namespace_ = segs[n - 4];
  t.pod = segs[n - 2];
  for (auto param : parsed->params()) {
    std::string key(param.key);
    std::string value = param.has_value ? std::string(param.value) : std::string();
    if (key == "command") {
      t.command.push_back(value);
    } else if (key == "container") {
      t.container = value;
    } else if (key == "stdin") {
      t.use_stdin = value == "true" || value == "1";
    } else if (key == "tty") {
      t.tty = value == "true" || value == "1";
    }
  }
  return t;
}

}  // namespace podtape::recorder
