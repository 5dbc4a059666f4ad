#include "conf/text_checks.h"

#include <arpa/inet.h>

#include <cstring>

namespace keygate::conf {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string to_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool is_http_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (is_alpha(c) || is_digit(c)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == '\0') return false;
  }
  return true;
}

bool is_env_var_name(std::string_view text) {
  if (text.empty() || is_digit(text.front())) return false;
  for (char c : text)
    if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
  return true;
}

bool is_lower_word(std::string_view text) {
  // Words of [a-z0-9] joined by single underscores.
  if (text.empty() || text.front() == '_' || text.back() == '_') return false;
  char previous = '\0';
  for (char c : text) {
    if (c == '_' && previous == '_') return false;
    if (c != '_' && !is_lower_alnum(c)) return false;
    previous = c;
  }
  return true;
}

bool is_key_prefix(std::string_view text) {
  return text.size() >= 2 && text.back() == '_' && is_lower_word(text.substr(0, text.size() - 1));
}

bool is_host_name(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.') return false;
  return true;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool is_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  const bool v4 = address.find(':') == std::string::npos;
  if (!is_ip_address(address)) return false;
  if (slash == std::string_view::npos) return true;
  const auto bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3) return false;
  int value = 0;
  for (char c : bits) {
    if (!is_digit(c)) return false;
    value = value * 10 + (c - '0');
  }
  return value <= (v4 ? 32 : 128);
}

bool is_loopback_address(const std::string& text) {
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace keygate::conf
