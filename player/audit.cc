#include "player/audit.h"

#include <boost/json.hpp>

#include "player/time_spec.h"

namespace podtape::player {
namespace {

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string ExitCode(const store::SessionRow& s) {
  return s.end.exit_code ? std::to_string(*s.end.exit_code) : std::string();
}

std::string Where(const store::SessionRow& s) {
  return s.meta.namespace_ + "/" + s.meta.pod + "/" + s.meta.container;
}

// Pads escaped cells into columns; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& cells) {
  std::vector<size_t> width;
  for (const auto& row : cells) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(width[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace

Result<std::vector<IndexRow>> JoinSessions(store::Store& store,
                                           const std::vector<store::IndexHit>& hits,
                                           std::map<std::string, store::SessionRow>* cache) {
  std::vector<IndexRow> out;
  out.reserve(hits.size());
  for (const store::IndexHit& h : hits) {
    auto it = cache->find(h.session_id);
    if (it == cache->end()) {
      Result<store::SessionRow> row = store.Find(h.session_id);
      if (!row.ok()) return row.status();
      it = cache->emplace(h.session_id, std::move(*row)).first;
    }
    out.push_back({h, &it->second});
  }
  return out;
}

std::string FormatAudit(const std::vector<IndexRow>& rows, ListFormat format, bool headers) {
  if (format == ListFormat::kJson) {
    boost::json::array arr;
    for (const IndexRow& r : rows) {
      const store::SessionRow& s = *r.session;
      boost::json::array groups;
      for (const std::string& g : s.meta.groups) groups.emplace_back(g);
      boost::json::object o{{"time", FormatRfc3339(s.meta.started_at_ns + r.hit.t_ns, true)},
                            {"offset", FormatOffset(r.hit.t_ns)},
                            {"user", s.meta.user},
                            {"groups", std::move(groups)},
                            {"user_source", s.meta.user_source},
                            {"cluster", s.meta.cluster},
                            {"namespace", s.meta.namespace_},
                            {"pod", s.meta.pod},
                            {"container", s.meta.container},
                            {"command", r.hit.text},
                            {"session", s.meta.id},
                            {"exit_code", nullptr}};
      if (s.end.exit_code) o["exit_code"] = *s.end.exit_code;
      arr.push_back(std::move(o));
    }
    return boost::json::serialize(arr) + "\n";
  }
  std::vector<std::vector<std::string>> cells;
  const std::vector<std::string> head = {"TIME", "USER",      "GROUPS",  "CLUSTER", "NAMESPACE",
                                         "POD",  "CONTAINER", "SESSION", "EXIT",    "COMMAND"};
  if (headers) cells.push_back(head);
  for (const IndexRow& r : rows) {
    const store::SessionRow& s = *r.session;
    std::vector<std::string> row = {FormatRfc3339(s.meta.started_at_ns + r.hit.t_ns, true),
                                    s.meta.user,
                                    Join(s.meta.groups, ","),
                                    s.meta.cluster,
                                    s.meta.namespace_,
                                    s.meta.pod,
                                    s.meta.container,
                                    format == ListFormat::kCsv ? s.meta.id : s.short_id,
                                    ExitCode(s),
                                    r.hit.text};
    cells.push_back(std::move(row));
  }
  std::string out;
  if (format == ListFormat::kCsv) {
    for (const auto& row : cells) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i > 0) out += ',';
        out += CsvField(row[i]);
      }
      out += "\r\n";
    }
    return out;
  }
  for (auto& row : cells) {
    for (std::string& c : row) c = EscapeForTerminal(c);
  }
  return Table(cells);
}

std::string FormatSearch(const std::vector<IndexRow>& rows, ListFormat format, bool headers) {
  if (format == ListFormat::kJson) {
    boost::json::array arr;
    for (const IndexRow& r : rows) {
      const store::SessionRow& s = *r.session;
      arr.push_back(boost::json::object{
          {"session", s.meta.id},
          {"short_id", s.short_id},
          {"offset", FormatOffset(r.hit.t_ns)},
          {"t_ns", r.hit.t_ns},
          {"time", FormatRfc3339(s.meta.started_at_ns + r.hit.t_ns, true)},
          {"user", s.meta.user},
          {"namespace", s.meta.namespace_},
          {"pod", s.meta.pod},
          {"container", s.meta.container},
          {"kind", r.hit.kind == store::IndexKind::kCommand ? "command" : "output"},
          {"text", r.hit.text}});
    }
    return boost::json::serialize(arr) + "\n";
  }
  std::vector<std::vector<std::string>> cells;
  if (headers) cells.push_back({"SESSION", "OFFSET", "TIME", "USER", "WHERE", "MATCH"});
  for (const IndexRow& r : rows) {
    const store::SessionRow& s = *r.session;
    std::string text = (r.hit.kind == store::IndexKind::kCommand ? "$ " : "") + r.hit.text;
    cells.push_back({format == ListFormat::kCsv ? s.meta.id : s.short_id, FormatOffset(r.hit.t_ns),
                     FormatRfc3339(s.meta.started_at_ns + r.hit.t_ns), s.meta.user, Where(s),
                     std::move(text)});
  }
  std::string out;
  if (format == ListFormat::kCsv) {
    for (const auto& row : cells) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i > 0) out += ',';
        out += CsvField(row[i]);
      }
      out += "\r\n";
    }
    return out;
  }
  for (auto& row : cells) {
    for (std::string& c : row) c = EscapeForTerminal(c);
  }
  return Table(cells);
}

}  // namespace podtape::player
