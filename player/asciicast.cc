#include "player/asciicast.h"

#include <fmt/format.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <cmath>
#include <limits>

namespace podtape::player {
namespace {

// Rounds nanoseconds to microseconds (half up; times are never negative).
int64_t ToMicros(int64_t ns) { return (ns + 500) / 1000; }

void AppendMicros(int64_t us, std::string* out) {
  fmt::format_to(std::back_inserter(*out), "{}.{:06}", us / 1'000'000, us % 1'000'000);
}

// Seconds (a JSON number) -> nanoseconds, rounded to the nearest.
bool SecondsToNs(const boost::json::value& v, int64_t* out) {
  double s = 0;
  if (v.is_double()) {
    s = v.get_double();
  } else if (v.is_int64()) {
    s = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    s = static_cast<double>(v.get_uint64());
  } else {
    return false;
  }
  if (!std::isfinite(s) || s < 0 || s > 9.2e9) return false;
  *out = std::llround(s * 1e9);
  return true;
}

}  // namespace

void AppendHtmlSafeJson(std::string_view text, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char* rep = nullptr;
    size_t skip = 1;
    if (c == '<') {
      rep = "\\u003c";
    } else if (c == '>') {
      rep = "\\u003e";
    } else if (c == '&') {
      rep = "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      rep = text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      skip = 3;
    }
    if (rep == nullptr) continue;
    out->append(text.data() + start, i - start);
    out->append(rep);
    i += skip - 1;
    start = i + 1;
  }
  out->append(text.data() + start, text.size() - start);
}

AsciicastWriter::AsciicastWriter(CastVersion version, ByteSink* out, bool html_safe)
    : version_(version), out_(out), html_safe_(html_safe) {}

Status AsciicastWriter::WriteJson() {
  if (!html_safe_) return out_->Write(line_);
  // Escaping only grows the text; a second reused buffer would do, but escapes are rare, so
  // check first and keep the common case copy-free.
  if (line_.find_first_of("<>&\xE2") == std::string::npos) return out_->Write(line_);
  std::string escaped;
  AppendHtmlSafeJson(line_, &escaped);
  return out_->Write(escaped);
}

Status AsciicastWriter::WriteHeader(const CastHeader& h) {
  boost::json::object o;
  if (version_ == CastVersion::kV2) {
    o["version"] = 2;
    o["width"] = h.cols;
    o["height"] = h.rows;
  } else {
    o["version"] = 3;
    boost::json::object term;
    term["cols"] = h.cols;
    term["rows"] = h.rows;
    if (!h.term_type.empty()) term["type"] = h.term_type;
    o["term"] = std::move(term);
  }
  if (h.timestamp_s != 0) o["timestamp"] = h.timestamp_s;
  if (h.idle_time_limit) o["idle_time_limit"] = *h.idle_time_limit;
  if (!h.command.empty()) o["command"] = h.command;
  if (!h.title.empty()) o["title"] = h.title;
  boost::json::object env;
  if (version_ == CastVersion::kV2 && !h.term_type.empty()) env["TERM"] = h.term_type;
  if (!h.shell.empty()) env["SHELL"] = h.shell;
  if (!env.empty()) o["env"] = std::move(env);
  line_ = boost::json::serialize(o);
  line_ += '\n';
  return WriteJson();
}

Status AsciicastWriter::WriteEvent(const Event& e) {
  int64_t us = ToMicros(e.t_ns);
  if (us < prev_us_) us = prev_us_;
  line_.clear();
  line_ += '[';
  AppendMicros(version_ == CastVersion::kV2 ? us : us - prev_us_, &line_);
  prev_us_ = us;
  line_ += ", \"";
  line_ += static_cast<char>(e.type);
  line_ += "\", ";
  serializer_.reset(e.data);
  char buf[4096];
  while (!serializer_.done()) line_.append(serializer_.read(buf));
  line_ += "]\n";
  return WriteJson();
}

Result<std::unique_ptr<AsciicastReader>> AsciicastReader::Open(std::istream* in, std::string name) {
  std::unique_ptr<AsciicastReader> r(new AsciicastReader(in, std::move(name)));
  std::string line;
  if (!std::getline(*in, line)) {
    return Status::InvalidArgument(
        fmt::format("{} is empty: expected an asciicast v2 or v3 file", r->name_));
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) {
    return Status::InvalidArgument(fmt::format(
        "{} is not an asciicast v2 or v3 file: its first line is not a JSON header", r->name_));
  }
  const boost::json::object& o = v.get_object();
  const boost::json::value* version = o.if_contains("version");
  if (version == nullptr || !version->is_int64() ||
      (version->get_int64() != 2 && version->get_int64() != 3)) {
    return Status::Unsupported(fmt::format(
        "{}: unsupported asciicast version (only v2 and v3 are read; convert v1 with asciinema)",
        r->name_));
  }
  r->version_ = version->get_int64() == 2 ? CastVersion::kV2 : CastVersion::kV3;
  CastHeader& h = r->header_;
  auto get_int = [](const boost::json::object& obj, const char* key, int* out) {
    if (const auto* x = obj.if_contains(key); x && x->is_int64()) {
      *out = static_cast<int>(x->get_int64());
    }
  };
  auto get_str = [](const boost::json::object& obj, const char* key, std::string* out) {
    if (const auto* x = obj.if_contains(key); x && x->is_string()) {
      *out = std::string(x->get_string());
    }
  };
  if (r->version_ == CastVersion::kV2) {
    get_int(o, "width", &h.cols);
    get_int(o, "height", &h.rows);
  } else if (const auto* term = o.if_contains("term"); term && term->is_object()) {
    get_int(term->get_object(), "cols", &h.cols);
    get_int(term->get_object(), "rows", &h.rows);
    get_str(term->get_object(), "type", &h.term_type);
  }
  if (const auto* ts = o.if_contains("timestamp"); ts && ts->is_number()) {
    // Only a time whose nanoseconds fit an int64 (up to 2262); anything else is taken as omitted
    // rather than converted or multiplied out of range.
    const double s =
        ts->is_int64() ? static_cast<double>(ts->get_int64()) : ts->to_number<double>();
    if (std::isfinite(s) && s > 0 && s < 9.2e9) {
      h.timestamp_s = ts->is_int64() ? ts->get_int64() : static_cast<int64_t>(s);
    }
  }
  if (const auto* itl = o.if_contains("idle_time_limit"); itl && itl->is_number()) {
    h.idle_time_limit = itl->to_number<double>();
  }
  get_str(o, "command", &h.command);
  get_str(o, "title", &h.title);
  if (const auto* env = o.if_contains("env"); env && env->is_object()) {
    if (h.term_type.empty()) get_str(env->get_object(), "TERM", &h.term_type);
    get_str(env->get_object(), "SHELL", &h.shell);
  }
  return r;
}

Status AsciicastReader::ReadEvents(const EventSink& sink) {
  std::string line;
  boost::json::parser parser;
  int64_t t_ns = 0;
  while (std::getline(*in_, line)) {
    ++line_no_;
    if (line.empty() || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (version_ == CastVersion::kV3 && line[0] == '#') continue;  // v3 comment lines
    auto bad = [&](std::string_view why) {
      return Status::Corruption(fmt::format("{} line {}: {}", name_, line_no_, why));
    };
    parser.reset();
    boost::system::error_code ec;
    parser.write(line, ec);
    if (ec) return bad("not valid JSON");
    boost::json::value v = parser.release();
    if (!v.is_array() || v.get_array().size() < 3)
      return bad("an event must be [time, code, data]");
    const boost::json::array& a = v.get_array();
    int64_t time_ns = 0;
    if (!SecondsToNs(a[0], &time_ns)) return bad("the time must be a number of seconds");
    if (!a[1].is_string() || a[1].get_string().size() != 1) return bad("the code must be a letter");
    if (version_ == CastVersion::kV3 && time_ns > std::numeric_limits<int64_t>::max() - t_ns) {
      return bad("the times add up past what nanoseconds since the start can hold");
    }
    t_ns = version_ == CastVersion::kV2 ? std::max(t_ns, time_ns) : t_ns + time_ns;
    const char code = a[1].get_string()[0];
    std::string number;
    std::string_view data;
    if (a[2].is_string()) {
      data = a[2].get_string();
    } else if (a[2].is_int64() && code == 'x') {
      number = std::to_string(a[2].get_int64());
      data = number;
    } else {
      return bad("the data must be a string");
    }
    EventType type;
    switch (code) {
      case 'o':
        type = EventType::kOutput;
        break;
      case 'i':
        type = EventType::kInput;
        break;
      case 'r':
        type = EventType::kResize;
        break;
      case 'm':
        type = EventType::kMarker;
        break;
      case 'x':
        type = EventType::kExit;
        break;
      default:
        ++skipped_;
        continue;
    }
    PODTAPE_RETURN_IF_ERROR(sink(Event{t_ns, type, data}));
  }
  if (in_->bad()) return Status::IOError(fmt::format("reading {} failed", name_));
  return Status::OK();
}

}  // namespace podtape::player
