#include "proxy/path_normalize.h"

#include <boost/container/small_vector.hpp>

namespace keygate::proxy {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Most paths are already normal: one scan proves it without copying anything.
bool needs_work(std::string_view path, const conf::HttpConfig& http) {
  char previous = 0;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%' || c == '\\') return true;
    if (previous == '/' && (c == '.' || (c == '/' && http.merge_slashes))) return true;
    previous = c;
  }
  return false;
}

PathVerdict check_characters(std::string_view path, const conf::HttpConfig& http) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c == '#' || c <= 0x20 || c == 0x7f) return PathVerdict::bad_character;
    if (c == '\\' && http.escaped_slashes == conf::HttpConfig::EscapedSlashes::reject)
      return PathVerdict::escaped_slash;
    if (c != '%') continue;
    if (i + 2 >= path.size()) return PathVerdict::bad_escape;
    const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
    if (hi < 0 || lo < 0) return PathVerdict::bad_escape;
    const int byte = hi * 16 + lo;
    if ((byte == '/' || byte == '\\') &&
        http.escaped_slashes == conf::HttpConfig::EscapedSlashes::reject)
      return PathVerdict::escaped_slash;
    i += 2;
  }
  return PathVerdict::ok;
}

// Percent-decoding of unreserved characters only: every other escape keeps its meaning (an
// encoded '/' stays data, not a separator), in upper-case hex.
std::string decode_unreserved(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      out.push_back(path[i]);
      continue;
    }
    const auto byte =
        static_cast<unsigned char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
    if (is_unreserved(byte)) {
      out.push_back(static_cast<char>(byte));
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
    i += 2;
  }
  return out;
}

// RFC 3986 §5.2.4 over whole segments; empty segments are dropped when merging slashes.
std::string remove_dot_segments(std::string_view path, bool merge_slashes) {
  boost::container::small_vector<std::string_view, 16> segments;
  bool trailing_slash = false;
  std::size_t at = 1;  // past the leading '/'
  while (at <= path.size()) {
    const auto slash = path.find('/', at);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    const auto segment = path.substr(at, end - at);
    const bool last = slash == std::string_view::npos;
    if (segment == ".") {
      trailing_slash = last;
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = last;
    } else if (segment.empty() && (merge_slashes || last)) {
      trailing_slash = last ? true : trailing_slash;
    } else {
      segments.push_back(segment);
      trailing_slash = false;
    }
    if (last) break;
    at = slash + 1;
  }
  std::string out;
  out.reserve(path.size());
  for (const auto segment : segments) {
    out.push_back('/');
    out.append(segment);
  }
  if (out.empty() || trailing_slash) out.push_back('/');
  return out;
}

}  // namespace

PathVerdict normalize_path(std::string_view path, const conf::HttpConfig& http, std::string& out,
                           bool& changed) {
  changed = false;
  if (const auto verdict = check_characters(path, http); verdict != PathVerdict::ok) return verdict;
  if (!http.normalize_path || !needs_work(path, http)) return PathVerdict::ok;
  const std::string decoded = decode_unreserved(path);
  out = remove_dot_segments(decoded, http.merge_slashes);
  changed = out != path;
  return PathVerdict::ok;
}

}  // namespace keygate::proxy
