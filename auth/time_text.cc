#include "auth/time_text.h"

#include <charconv>
#include <chrono>

#include "conf/units.h"

namespace keygate::auth {
namespace {

// Reads exactly `digits` decimal digits at `pos`.
bool read_number(std::string_view text, std::size_t& pos, std::size_t digits, int& out) {
  if (pos + digits > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += digits;
  return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

std::optional<UnixSeconds> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0;
  if (!read_number(text, pos, 4, y) || !expect(text, pos, '-') || !read_number(text, pos, 2, mo) ||
      !expect(text, pos, '-') || !read_number(text, pos, 2, d))
    return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  const auto midnight = sys_days{date}.time_since_epoch();
  if (pos == text.size()) return duration_cast<seconds>(midnight).count();

  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
  ++pos;
  int h = 0, mi = 0, s = 0;
  if (!read_number(text, pos, 2, h) || !expect(text, pos, ':') || !read_number(text, pos, 2, mi) ||
      !expect(text, pos, ':') || !read_number(text, pos, 2, s))
    return std::nullopt;
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;  // 60: a leap second, folded below
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= text.size()) return std::nullopt;  // RFC 3339 requires the offset
  int offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_number(text, pos, 2, oh) || !expect(text, pos, ':') ||
        !read_number(text, pos, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return duration_cast<seconds>(midnight).count() + h * 3600 + mi * 60 + std::min(s, 59) - offset;
}

std::string format_rfc3339(UnixSeconds time) {
  using namespace std::chrono;
  const sys_seconds point{seconds{time}};
  const sys_days day_point = floor<days>(point);
  const year_month_day date{day_point};
  const hh_mm_ss clock{point - day_point};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(date.year()),
                unsigned(date.month()), unsigned(date.day()), int(clock.hours().count()),
                int(clock.minutes().count()), int(clock.seconds().count()));
  return buffer;
}

std::optional<std::int64_t> parse_duration_seconds(std::string_view text, std::string& error) {
  if (text == "0") return 0;
  conf::Parsed<conf::Duration> parsed = conf::parse_duration(text);
  if (!parsed.value) {
    error = parsed.error;
    return std::nullopt;
  }
  const std::int64_t ms = parsed.value->count();
  return ms / 1000 + (ms % 1000 != 0 ? 1 : 0);
}

std::optional<UnixSeconds> parse_time_or_duration(std::string_view text, UnixSeconds now,
                                                  std::string& error) {
  if (auto time = parse_rfc3339(text)) return time;
  std::string duration_error;
  if (auto seconds = parse_duration_seconds(text, duration_error)) return now + *seconds;
  error = "\"" + std::string(text) +
          "\" is neither an RFC 3339 time (2025-01-31T00:00:00Z) nor a duration (90d, 24h, 30m)";
  return std::nullopt;
}

std::string format_duration(std::int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  if (seconds < 0) {
    out = "-";
    seconds = -seconds;
  }
  const std::pair<std::int64_t, const char*> units[] = {
      {86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [size, name] : units) {
    if (seconds >= size) {
      out += std::to_string(seconds / size) + name;
      seconds %= size;
    }
  }
  return out;
}

}  // namespace keygate::auth
