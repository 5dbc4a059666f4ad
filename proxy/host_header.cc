#include "proxy/host_header.h"

namespace keygate::proxy {
namespace {

constexpr std::size_t kMaxHostLength = 255;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool is_ip_literal_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

// Labels of letters, digits, '-' and '_' separated by single dots.
bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  bool label_empty = true;
  for (char c : name) {
    if (c == '.') {
      if (label_empty) return false;
      label_empty = true;
    } else if (is_name_char(c)) {
      label_empty = false;
    } else {
      return false;
    }
  }
  return !label_empty;
}

}  // namespace

bool parse_host_header(std::string_view host, std::string& out, std::string_view& port) {
  out.clear();
  port = {};
  if (host.size() > kMaxHostLength) return false;
  if (host.empty()) return true;
  std::string_view name;
  if (host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : host.substr(1, close - 1))
      if (!is_ip_literal_char(c)) return false;
    name = host.substr(0, close + 1);
    const auto rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !valid_port(rest.substr(1))) return false;
      port = rest.substr(1);
    }
  } else {
    const auto colon = host.find(':');
    name = host.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      if (!valid_port(port)) return false;  // also a second ':'
    }
    // One trailing dot names the same host (an absolute DNS name).
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    if (!valid_name(name)) return false;
  }
  for (char c : name) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
  return true;
}

}  // namespace keygate::proxy
