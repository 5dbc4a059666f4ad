// Process log: one JSON object per line on stderr. Never pass a raw API key here.
//
// The same conventions as the access log (access_log.h): every line starts with "time"
// (RFC 3339 UTC with milliseconds, 2026-11-22T08:35:37.123Z), field names are snake_case, and
// numbers are JSON numbers, not strings: pass them as numbers ({"port", port}).
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace keygate::proxy {

enum class LogLevel { debug, info, warn, error };

// One field of a log line: a name and a string, integer, real or boolean value.
class LogField {
 public:
  enum class Kind { text, signed_integer, unsigned_integer, real, boolean };

  LogField(std::string_view name, std::string_view value)
      : name_(name), kind_(Kind::text), text_(value) {}
  LogField(std::string_view name, const char* value) : LogField(name, std::string_view(value)) {}
  LogField(std::string_view name, const std::string& value)
      : LogField(name, std::string_view(value)) {}
  LogField(std::string_view name, bool value) : name_(name), kind_(Kind::boolean), flag_(value) {}
  LogField(std::string_view name, double value) : name_(name), kind_(Kind::real), real_(value) {}
  template <std::signed_integral T>
  LogField(std::string_view name, T value)
      : name_(name), kind_(Kind::signed_integer), signed_(static_cast<std::int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view name, T value)
      : name_(name), kind_(Kind::unsigned_integer), unsigned_(static_cast<std::uint64_t>(value)) {}

  // Appends ,"name":value to a JSON object being written.
  void append_to(std::string& out) const;

 private:
  std::string_view name_;
  Kind kind_;
  std::string_view text_;
  std::int64_t signed_ = 0;
  std::uint64_t unsigned_ = 0;
  double real_ = 0;
  bool flag_ = false;
};

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
