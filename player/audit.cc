#include "player/audit.h"

#include <boost/json.hpp>
#include <functional>
#include <map>

#include "player/search.h"
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

// A table/CSV column: its header and its cell for a row (CSV gets full ids, tables short ones).
struct Column {
  const char* header;
  std::function<std::string(const IndexRow&, ListFormat)> cell;
};

std::string SessionId(const IndexRow& r, ListFormat f) {
  return f == ListFormat::kCsv ? r.session->meta.id : r.session->short_id;
}

// Table (escaped cells padded into columns; the last one not padded) or CSV (RFC 4180, CRLF).
std::string Render(const std::vector<IndexRow>& rows, const std::vector<Column>& columns,
                   ListFormat format, bool headers) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows.size() + 1);
  if (headers) {
    cells.emplace_back();
    for (const Column& c : columns) cells.back().emplace_back(c.header);
  }
  for (const IndexRow& r : rows) {
    cells.emplace_back();
    for (const Column& c : columns) {
      std::string v = c.cell(r, format);
      cells.back().push_back(format == ListFormat::kCsv ? CsvField(v) : EscapeForTerminal(v));
    }
  }
  std::vector<size_t> width(columns.size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 == row.size()) break;
      if (format == ListFormat::kCsv) {
        out += ',';
      } else {
        out.append(width[i] - row[i].size() + 2, ' ');
      }
    }
    out += format == ListFormat::kCsv ? "\r\n" : "\n";
  }
  return out;
}

std::string Json(const std::vector<IndexRow>& rows,
                 const std::function<boost::json::object(const IndexRow&)>& object) {
  boost::json::array arr;
  arr.reserve(rows.size());
  for (const IndexRow& r : rows) arr.push_back(object(r));
  return boost::json::serialize(arr) + "\n";
}

int64_t HitTime(const IndexRow& r) { return r.session->meta.started_at_ns + r.hit.t_ns; }

}  // namespace

Result<IndexRows> QueryIndexRows(store::Store& store, const store::IndexQuery& query,
                                 std::chrono::milliseconds wait) {
  IndexRows out;
  Result<IndexRun> run = IndexPendingSessions(store, wait);
  if (!run.ok()) return run.status();
  out.indexer_busy = run->busy;
  Result<std::vector<store::IndexHit>> hits = store::QueryIndex(store, query);
  if (!hits.ok()) return hits.status();
  std::map<std::string, std::shared_ptr<const store::SessionRow>, std::less<>> sessions;
  out.rows.reserve(hits->size());
  for (store::IndexHit& h : *hits) {
    auto it = sessions.find(h.session_id);
    if (it == sessions.end()) {
      Result<store::SessionRow> row = store.Find(h.session_id);
      if (!row.ok()) return row.status();
      it =
          sessions.emplace(h.session_id, std::make_shared<const store::SessionRow>(std::move(*row)))
              .first;
    }
    out.rows.push_back({std::move(h), it->second});
  }
  return out;
}

std::string FormatAudit(const std::vector<IndexRow>& rows, ListFormat format, bool headers) {
  if (format == ListFormat::kJson) {
    return Json(rows, [](const IndexRow& r) {
      const store::SessionRow& s = *r.session;
      boost::json::array groups;
      for (const std::string& g : s.meta.groups) groups.emplace_back(g);
      boost::json::object o{{"time", FormatRfc3339(HitTime(r), true)},
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
      return o;
    });
  }
  static const std::vector<Column> kColumns = {
      {"TIME", [](const IndexRow& r, ListFormat) { return FormatRfc3339(HitTime(r), true); }},
      {"USER", [](const IndexRow& r, ListFormat) { return r.session->meta.user; }},
      {"GROUPS", [](const IndexRow& r, ListFormat) { return Join(r.session->meta.groups, ","); }},
      {"CLUSTER", [](const IndexRow& r, ListFormat) { return r.session->meta.cluster; }},
      {"NAMESPACE", [](const IndexRow& r, ListFormat) { return r.session->meta.namespace_; }},
      {"POD", [](const IndexRow& r, ListFormat) { return r.session->meta.pod; }},
      {"CONTAINER", [](const IndexRow& r, ListFormat) { return r.session->meta.container; }},
      {"SESSION", SessionId},
      {"EXIT",
       [](const IndexRow& r, ListFormat) {
         const auto& code = r.session->end.exit_code;
         return code ? std::to_string(*code) : std::string();
       }},
      {"COMMAND", [](const IndexRow& r, ListFormat) { return r.hit.text; }},
  };
  return Render(rows, kColumns, format, headers);
}

std::string FormatSearch(const std::vector<IndexRow>& rows, ListFormat format, bool headers) {
  if (format == ListFormat::kJson) {
    return Json(rows, [](const IndexRow& r) {
      const store::SessionRow& s = *r.session;
      return boost::json::object{
          {"session", s.meta.id},
          {"short_id", s.short_id},
          {"offset", FormatOffset(r.hit.t_ns)},
          {"t_ns", r.hit.t_ns},
          {"time", FormatRfc3339(HitTime(r), true)},
          {"user", s.meta.user},
          {"namespace", s.meta.namespace_},
          {"pod", s.meta.pod},
          {"container", s.meta.container},
          {"kind", r.hit.kind == store::IndexKind::kCommand ? "command" : "output"},
          {"text", r.hit.text}};
    });
  }
  static const std::vector<Column> kColumns = {
      {"SESSION", SessionId},
      {"OFFSET", [](const IndexRow& r, ListFormat) { return FormatOffset(r.hit.t_ns); }},
      {"TIME", [](const IndexRow& r, ListFormat) { return FormatRfc3339(HitTime(r)); }},
      {"USER", [](const IndexRow& r, ListFormat) { return r.session->meta.user; }},
      {"WHERE",
       [](const IndexRow& r, ListFormat) {
         const store::SessionMeta& m = r.session->meta;
         return m.namespace_ + "/" + m.pod + "/" + m.container;
       }},
      {"MATCH",
       [](const IndexRow& r, ListFormat) {
         return (r.hit.kind == store::IndexKind::kCommand ? "$ " : "") + r.hit.text;
       }},
  };
  return Render(rows, kColumns, format, headers);
}

}  // namespace podtape::player
