// One JSON line per request. Each worker thread appends to its own buffer and writes it out
// in one write(2) when it fills or on a timer, so logging costs no lock and no syscall per
// request. Key identity is logged by id and prefix only, never the raw key.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace keygate::proxy {

struct AccessLogEntry {
  std::string_view method;
  std::string_view path;  // without the query string: query values may hold credentials
  std::string_view route;
  unsigned status = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  double upstream_ms = -1;  // -1: no upstream exchange
  double total_ms = 0;
  std::string_view request_id;
  std::string_view client_ip;
  std::string_view key_id;
  std::string_view key_prefix;
  std::string_view org;
  std::string_view decision;  // "allowed", "missing_api_key", "rate_limited", ...
};

// A shared output (stdout, stderr or an append-only file); workers hand it whole buffers.
class AccessLogSink {
 public:
  // Returns null and sets `error` when the file cannot be opened.
  static std::shared_ptr<AccessLogSink> open(const std::string& path, std::string* error);
  ~AccessLogSink();
  void write(std::string_view data);

 private:
  explicit AccessLogSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_;
  bool owned_;
};

class AccessLogBuffer {
 public:
  static constexpr std::size_t kFlushBytes = 32 * 1024;

  void set_sink(std::shared_ptr<AccessLogSink> sink) { sink_ = std::move(sink); }
  void append(const AccessLogEntry& entry);
  void flush();

 private:
  std::shared_ptr<AccessLogSink> sink_;
  std::string buffer_;
};

}  // namespace keygate::proxy
