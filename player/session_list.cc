#include "player/session_list.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "player/time_spec.h"

namespace podtape::player {
namespace {

// The argv as ls shows it: joined with spaces, unquoted (audit and exports quote it).
std::string JoinCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Display columns of escaped (printable) UTF-8 text: one per code point (wide characters are
// rare in these fields; alignment is cosmetic).
size_t Columns(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::optional<int64_t> DurationNs(const store::SessionRow& row, int64_t now_ns) {
  if (row.ended && row.end.ended_at_ns >= row.meta.started_at_ns) {
    return row.end.ended_at_ns - row.meta.started_at_ns;
  }
  if (row.end_reason == "running" && now_ns >= row.meta.started_at_ns) {
    return now_ns - row.meta.started_at_ns;
  }
  return std::nullopt;  // interrupted: its end is unknown
}

}  // namespace

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

Result<ListFormat> ParseListFormat(std::string_view name) {
  if (name == "table" || name == "wide") return ListFormat::kTable;
  if (name == "json") return ListFormat::kJson;
  if (name == "csv") return ListFormat::kCsv;
  return Status::InvalidArgument(
      fmt::format("unknown output format '{}': use table, json or csv", name));
}

std::string EscapeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c == '\\') {
      out += "\\\\";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case 0x1B:
          out += "\\e";
          break;
        default:
          out += fmt::format("\\x{:02x}", c);
      }
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // A complete, valid UTF-8 sequence is kept unless it encodes a C1 control.
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
      bool valid = len > 0 && c <= 0xF4 && i + len <= n;
      for (size_t k = 1; valid && k < len; ++k) valid = (p[i + k] & 0xC0) == 0x80;
      if (valid && len == 3) {
        valid = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] > 0x9F);
      }
      if (valid && len == 4) {
        valid = !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] > 0x8F);
      }
      if (!valid) {
        out += fmt::format("\\x{:02x}", c);
        ++i;
      } else if (len == 2 && c == 0xC2 && p[i + 1] < 0xA0) {
        out += fmt::format("\\u{:04x}", p[i + 1]);  // U+0080-U+009F: C1 controls (CSI is 9B)
        i += 2;
      } else if (len == 3 && c == 0xE2 && p[i + 1] == 0x80 &&
                 (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
        out += p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
        i += 3;
      } else {
        out.append(text.data() + i, len);
        i += len;
      }
    }
  }
  return out;
}

std::string FormatDuration(int64_t ns) {
  if (ns < 0) ns = 0;
  const int64_t s = ns / 1'000'000'000;
  if (s >= 3600) return fmt::format("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
}

boost::json::value SessionJson(const store::SessionRow& row, int64_t now_ns) {
  const store::SessionMeta& m = row.meta;
  boost::json::object o;
  auto text_or_null = [](const std::string& s) -> boost::json::value {
    if (s.empty()) return nullptr;
    return boost::json::value(s);
  };
  o["id"] = m.id;
  o["short_id"] = row.short_id;
  o["kind"] = m.kind;
  o["namespace"] = m.namespace_;
  o["pod"] = m.pod;
  o["container"] = m.container;
  boost::json::array command;
  for (const std::string& a : m.command) command.emplace_back(a);
  o["command"] = std::move(command);
  o["user"] = m.user;
  boost::json::array groups;
  for (const std::string& g : m.groups) groups.emplace_back(g);
  o["groups"] = std::move(groups);
  o["user_source"] = m.user_source;
  o["kube_user"] = m.kube_user;
  o["as_user"] = m.as_user;
  o["local_user"] = m.local_user;
  o["host"] = m.host;
  o["cluster"] = m.cluster;
  o["context"] = m.context;
  o["server"] = m.server;
  o["title"] = m.title;
  o["started_at"] = FormatRfc3339(m.started_at_ns, true);
  if (row.ended && row.end.ended_at_ns > 0) {
    o["ended_at"] = FormatRfc3339(row.end.ended_at_ns, true);
  } else {
    o["ended_at"] = nullptr;
  }
  if (std::optional<int64_t> d = DurationNs(row, now_ns)) {
    o["duration_s"] = static_cast<double>(*d) / 1e9;
  } else {
    o["duration_s"] = nullptr;
  }
  if (row.end.exit_code) {
    o["exit_code"] = *row.end.exit_code;
  } else {
    o["exit_code"] = nullptr;
  }
  o["end_reason"] = row.end_reason;
  o["error"] = text_or_null(row.end.error);
  o["recording_complete"] = row.ended ? row.end.recording_complete : row.end_reason == "running";
  o["protocol"] = m.protocol;
  o["tty"] = m.tty;
  o["frames"] = row.frames;
  o["bytes"] = row.bytes;
  o["sealed"] = row.seal.has_value();
  return o;
}

std::string FormatSessions(const std::vector<store::SessionRow>& rows, ListFormat format,
                           bool headers, int64_t now_ns) {
  if (format == ListFormat::kJson) {
    boost::json::array a;
    a.reserve(rows.size());
    for (const store::SessionRow& r : rows) a.push_back(SessionJson(r, now_ns));
    return boost::json::serialize(a) + "\n";
  }
  static const std::vector<std::string> kHeader = {"SESSION",   "STARTED", "DURATION",  "USER",
                                                   "NAMESPACE", "POD",     "CONTAINER", "COMMAND",
                                                   "EXIT",      "STATUS"};
  std::vector<std::vector<std::string>> table;
  if (headers) table.push_back(kHeader);
  for (const store::SessionRow& r : rows) {
    std::optional<int64_t> d = DurationNs(r, now_ns);
    std::string status = r.end_reason;
    if (r.ended && !r.end.recording_complete) status += " (incomplete)";
    std::string started = FormatRfc3339(r.meta.started_at_ns);
    std::vector<std::string> cells = {
        r.short_id,
        format == ListFormat::kCsv ? FormatRfc3339(r.meta.started_at_ns, true) : started,
        d ? (format == ListFormat::kCsv ? fmt::format("{:.3f}", static_cast<double>(*d) / 1e9)
                                        : FormatDuration(*d))
          : "",
        r.meta.user,
        r.meta.namespace_,
        r.meta.pod,
        r.meta.container,
        JoinCommand(r.meta.command),
        r.end.exit_code ? std::to_string(*r.end.exit_code) : "",
        status};
    if (format == ListFormat::kTable) {
      for (std::string& c : cells) {
        c = EscapeForTerminal(c);
        if (c.empty()) c.push_back('-');
      }
    }
    table.push_back(std::move(cells));
  }
  std::string out;
  if (format == ListFormat::kCsv) {
    for (const auto& row : table) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i) out += ',';
        out += CsvField(row[i]);
      }
      out += '\n';
    }
    return out;
  }
  std::vector<size_t> widths(kHeader.size(), 0);
  for (const auto& row : table) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Columns(row[i]));
  }
  for (const auto& row : table) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - Columns(row[i]) + 3, ' ');
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace podtape::player
