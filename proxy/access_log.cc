#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "proxy/error_body.h"
#include "proxy/log.h"

namespace keygate::proxy {
namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}

void number(std::string& out, std::string_view name, double value) {
  char buf[48];
  std::snprintf(buf, sizeof buf, ",\"%.*s\":%.3f", static_cast<int>(name.size()), name.data(),
                value);
  out += buf;
}

void integer(std::string& out, std::string_view name, std::uint64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += std::to_string(value);
}

}  // namespace

std::shared_ptr<AccessLogSink> AccessLogSink::open(const std::string& path, std::string* error) {
  if (path == "stdout")
    return std::shared_ptr<AccessLogSink>(new AccessLogSink(STDOUT_FILENO, false));
  if (path == "stderr")
    return std::shared_ptr<AccessLogSink>(new AccessLogSink(STDERR_FILENO, false));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    if (error) *error = "cannot open access log " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::shared_ptr<AccessLogSink>(new AccessLogSink(fd, true));
}

AccessLogSink::~AccessLogSink() {
  if (owned_) ::close(fd_);
}

void AccessLogSink::write(std::string_view data) {
  // Buffers end on line boundaries and O_APPEND keeps concurrent writers' lines whole.
  while (!data.empty()) {
    const auto n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk must not stop the proxy; the lines are dropped
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void AccessLogBuffer::append(const AccessLogEntry& e) {
  if (!sink_) return;
  buffer_ += "{\"time\":\"";
  append_utc_timestamp(buffer_);
  buffer_ += '"';
  field(buffer_, "method", e.method);
  field(buffer_, "path", e.path);
  field(buffer_, "route", e.route);
  integer(buffer_, "status", e.status);
  integer(buffer_, "bytes_in", e.bytes_in);
  integer(buffer_, "bytes_out", e.bytes_out);
  if (e.upstream_ms >= 0) number(buffer_, "upstream_ms", e.upstream_ms);
  number(buffer_, "total_ms", e.total_ms);
  field(buffer_, "request_id", e.request_id);
  field(buffer_, "client_ip", e.client_ip);
  if (!e.key_id.empty()) {
    field(buffer_, "key_id", e.key_id);
    field(buffer_, "key_prefix", e.key_prefix);
    field(buffer_, "org", e.org);
  }
  if (!e.decision.empty()) field(buffer_, "decision", e.decision);
  buffer_ += "}\n";
  if (buffer_.size() >= kFlushBytes) flush();
}

void AccessLogBuffer::flush() {
  if (buffer_.empty() || !sink_) return;
  sink_->write(buffer_);
  buffer_.clear();
}

}  // namespace keygate::proxy
