#include "player/time_spec.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

namespace podtape::player {
namespace {

constexpr int64_t kNsPerSec = 1'000'000'000;

// Parses "123" or "123.456" (digits only) into nanoseconds of `unit_ns` units; false on any
// other character, on an empty string or on overflow.
bool ParseDecimal(std::string_view s, int64_t unit_ns, int64_t* out) {
  if (s.empty()) return false;
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return false;
  if (dot != std::string_view::npos && frac.empty()) return false;
  int64_t w = 0;
  if (!whole.empty()) {
    auto [ptr, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), w);
    if (ec != std::errc() || ptr != whole.data() + whole.size() || w < 0) return false;
  }
  if (w > std::numeric_limits<int64_t>::max() / unit_ns) return false;
  int64_t ns = w * unit_ns;
  // The fraction in units of unit_ns, digit by digit (exact for any unit that is a power of ten
  // of nanoseconds, rounded down beyond nanosecond precision otherwise).
  int64_t scale = unit_ns;
  __int128 frac_ns = 0;
  __int128 denom = 1;
  for (char c : frac) {
    if (c < '0' || c > '9') return false;
    if (denom < static_cast<__int128>(1) << 100) {
      frac_ns = frac_ns * 10 + (c - '0');
      denom *= 10;
    }
  }
  ns += static_cast<int64_t>(frac_ns * scale / denom);
  *out = ns;
  return true;
}

bool ParseUint(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && *out >= 0;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

Result<int64_t> ParseOffset(std::string_view text) {
  std::string_view s = text;
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "invalid offset '{}': use seconds (90, 90.5s) or [h:]m:s (1:30, 1:02:03.5)", text));
  };
  if (s.empty()) return bad();
  if (s.find(':') == std::string_view::npos) {
    if (s.back() == 's') s.remove_suffix(1);
    int64_t ns = 0;
    if (!ParseDecimal(s, kNsPerSec, &ns)) return bad();
    return ns;
  }
  // [h:]m:s(.frac): minutes and seconds below 60 once an hour or minute field leads.
  std::string_view parts[3];
  int count = 0;
  size_t start = 0;
  while (true) {
    size_t colon = s.find(':', start);
    if (count == 3) return bad();
    parts[count++] = s.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (count < 2) return bad();
  int64_t sec_ns = 0;
  if (!ParseDecimal(parts[count - 1], kNsPerSec, &sec_ns) || sec_ns >= 60 * kNsPerSec) return bad();
  int64_t minutes = 0;
  if (!ParseUint(parts[count - 2], &minutes)) return bad();
  int64_t hours = 0;
  if (count == 3) {
    if (!ParseUint(parts[0], &hours) || minutes >= 60) return bad();
  }
  if (hours > 1'000'000 || minutes > 60'000'000) return bad();
  return (hours * 3600 + minutes * 60) * kNsPerSec + sec_ns;
}

std::string FormatOffset(int64_t ns) {
  if (ns < 0) ns = 0;
  const int64_t ms_total = ns / 1'000'000;
  const int64_t ms = ms_total % 1000;
  const int64_t s_total = ms_total / 1000;
  const int64_t s = s_total % 60;
  const int64_t m = (s_total / 60) % 60;
  const int64_t h = s_total / 3600;
  if (h > 0) return fmt::format("{}:{:02}:{:02}.{:03}", h, m, s, ms);
  return fmt::format("{}:{:02}.{:03}", m, s, ms);
}

Result<int64_t> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "invalid duration '{}': use a number and a unit (500ms, 90s, 15m, 2h, 30d, 1h30m)", text));
  };
  std::string_view s = text;
  if (s.empty()) return bad();
  int64_t total = 0;
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && ((s[n] >= '0' && s[n] <= '9') || s[n] == '.')) ++n;
    size_t u = n;
    while (u < s.size() && s[u] >= 'a' && s[u] <= 'z') ++u;
    std::string_view number = s.substr(0, n);
    std::string_view unit = s.substr(n, u - n);
    int64_t unit_ns = 0;
    if (unit == "ms") {
      unit_ns = 1'000'000;
    } else if (unit == "s") {
      unit_ns = kNsPerSec;
    } else if (unit == "m") {
      unit_ns = 60 * kNsPerSec;
    } else if (unit == "h") {
      unit_ns = 3600 * kNsPerSec;
    } else if (unit == "d") {
      unit_ns = 86400 * kNsPerSec;
    } else {
      return bad();
    }
    int64_t ns = 0;
    if (!ParseDecimal(number, unit_ns, &ns)) return bad();
    if (ns > std::numeric_limits<int64_t>::max() - total) return bad();
    total += ns;
    s.remove_prefix(u);
  }
  if (total <= 0) return bad();
  return total;
}

Result<int64_t> ParseRfc3339(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "invalid time '{}': use RFC 3339 (2026-11-26T08:00:00Z) or a duration (2h, 30d)", text));
  };
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  std::string_view s = text;
  if (s.size() < 20) return bad();
  auto digits = [&](size_t pos, size_t len, int64_t* out) {
    return pos + len <= s.size() && ParseUint(s.substr(pos, len), out) &&
           s.substr(pos, len).find_first_not_of("0123456789") == std::string_view::npos;
  };
  int64_t year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || s[4] != '-' || !digits(5, 2, &month) || s[7] != '-' ||
      !digits(8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(11, 2, &hour) || s[13] != ':' || !digits(14, 2, &minute) || s[16] != ':' ||
      !digits(17, 2, &second)) {
    return bad();
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0) || hour > 23 || minute > 59 ||
      second > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    size_t end = pos + 1;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end == pos + 1) return bad();
    if (!ParseDecimal(s.substr(pos, end - pos), kNsPerSec, &frac_ns)) return bad();
    pos = end;
  }
  int64_t offset_s = 0;
  std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset_s = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int64_t oh, om;
    if (!digits(pos + 1, 2, &oh) || !digits(pos + 4, 2, &om) || oh > 23 || om > 59) return bad();
    offset_s = (oh * 3600 + om * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  if (second == 60) second = 59;  // a leap second reads as the second before it
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return secs * kNsPerSec + frac_ns;
}

Result<int64_t> ParseTimePoint(std::string_view text, int64_t now_ns) {
  if (!text.empty() && text.find_first_of("-:") == std::string_view::npos) {
    Result<int64_t> d = ParseDuration(text);
    if (!d.ok()) {
      return Status::InvalidArgument(
          fmt::format("invalid time '{}': use a duration ago (90s, 2h, 30d) or an RFC 3339 time "
                      "(2026-11-26T08:00:00Z)",
                      text));
    }
    return now_ns - *d;
  }
  return ParseRfc3339(text);
}

std::string FormatRfc3339(int64_t unix_ns, bool fraction) {
  int64_t secs = unix_ns / kNsPerSec;
  int64_t ns = unix_ns % kNsPerSec;
  if (ns < 0) {
    ns += kNsPerSec;
    --secs;
  }
  const std::chrono::sys_seconds tp{std::chrono::seconds(secs)};
  const auto day_point = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd{day_point};
  const std::chrono::hh_mm_ss hms{tp - day_point};
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  if (fraction && ns != 0) {
    std::string f = fmt::format(".{:09}", ns);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

}  // namespace podtape::player
