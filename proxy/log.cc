#include "proxy/log.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

#include "proxy/error_body.h"

namespace keygate::proxy {
namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

}  // namespace

void LogField::append_to(std::string& out) const {
  out += ",\"";
  append_json_escaped(out, name_);
  out += "\":";
  switch (kind_) {
    case Kind::text:
      out += '"';
      append_json_escaped(out, text_);
      out += '"';
      return;
    case Kind::signed_integer:
      out += std::to_string(signed_);
      return;
    case Kind::unsigned_integer:
      out += std::to_string(unsigned_);
      return;
    case Kind::real: {
      // Three decimals, like the access log's milliseconds; JSON has no NaN or infinity.
      char buf[40];
      const int n = std::isfinite(real_) ? std::snprintf(buf, sizeof buf, "%.3f", real_) : 0;
      out.append(n > 0 ? std::string_view(buf, static_cast<std::size_t>(n)) : "null");
      return;
    }
    case Kind::boolean:
      out += flag_ ? "true" : "false";
      return;
  }
}

void append_utc_timestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int the format could meet, so GCC proves nothing is cut
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

void log_line(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128);
  line += R"({"time":")";
  append_utc_timestamp(line);
  line += R"(","level":")";
  line += level_name(level);
  line += R"(","msg":")";
  append_json_escaped(line, message);
  line += '"';
  for (const LogField& field : fields) field.append_to(line);
  line += "}\n";
  // A log line that cannot be written is dropped: logging must never stop the proxy.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace keygate::proxy
