// Process log: one JSON object per line on stderr. Never pass a raw API key here.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace keygate::proxy {

enum class LogLevel { debug, info, warn, error };

using LogField = std::pair<std::string_view, std::string_view>;

// Appends the current UTC time as 2026-11-22T08:35:37.123Z.
void append_utc_timestamp(std::string& out);

// Thread-safe: each line goes out in a single write(2).
void log_line(LogLevel level, std::string_view message,
              std::initializer_list<LogField> fields = {});

inline void log_info(std::string_view m, std::initializer_list<LogField> f = {}) {
  log_line(LogLevel::info, m, f);
}
inline void log_warn(std::string_view m, std::initializer_list<LogField> f = {}) {
  log_line(LogLevel::warn, m, f);
}
inline void log_error(std::string_view m, std::initializer_list<LogField> f = {}) {
  log_line(LogLevel::error, m, f);
}

}  // namespace keygate::proxy
