// Finding the API key in a request, and removing it before the request goes upstream.
//
// Header-only so that the proxy can pass its own header container through a lambda without
// a type-erased call per header: lookup(name) -> std::optional<std::string_view>, with
// case-insensitive names (Beast's field containers already are).
//
// The route's sources are tried in order; the first one that carries a non-empty value wins:
//   bearer  "<name>: Bearer <token>" (scheme case-insensitive, token trimmed); other schemes
//           (Basic, ...) are skipped, so the next source is tried.
//   header  "<name>: <key>" (trimmed).
//   query   "?<name>=<key>", the first occurrence, percent-decoded only when needed.
// A value longer than kMaxKeyLength is reported as found but oversized: it is rejected as an
// invalid key without being copied, decoded or hashed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "auth/key_format.h"
#include "conf/config.h"

namespace keygate::auth {

class Credential {
 public:
  static Credential missing() { return Credential(); }
  static Credential borrowed(conf::KeySource::Kind source, std::string_view key) {
    Credential c(source);
    c.view_ = key;
    return c;
  }
  static Credential owned(conf::KeySource::Kind source, std::string key) {
    Credential c(source);
    c.owned_ = std::move(key);
    c.is_owned_ = true;
    return c;
  }
  static Credential too_long(conf::KeySource::Kind source) {
    Credential c(source);
    c.oversized_ = true;
    return c;
  }

  // No source carried a key: missing_api_key.
  bool found() const { return found_; }
  bool oversized() const { return oversized_; }
  conf::KeySource::Kind source() const { return source_; }
  // The key as sent (empty when missing or oversized). A borrowed key points into the
  // request's headers or target, which must outlive this view.
  std::string_view raw() const { return is_owned_ ? std::string_view(owned_) : view_; }

 private:
  Credential() = default;
  explicit Credential(conf::KeySource::Kind source) : found_(true), source_(source) {}

  bool found_ = false;
  bool oversized_ = false;
  bool is_owned_ = false;
  conf::KeySource::Kind source_ = conf::KeySource::Kind::bearer;
  std::string_view view_;
  std::string owned_;
};

namespace credential_detail {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The token of "Bearer <token>"; empty for any other scheme.
inline std::string_view bearer_token(std::string_view value) {
  value = trim(value);
  const std::size_t space = value.find_first_of(" \t");
  if (space == std::string_view::npos || !iequals(value.substr(0, space), "bearer")) return {};
  return trim(value.substr(space + 1));
}

// "name" or "name=..." (names compared as sent, not decoded: the same rule as
// remove_query_param, so what authenticated the request is also what gets stripped).
inline bool segment_has_name(std::string_view segment, std::string_view name) {
  return segment.size() >= name.size() && segment.substr(0, name.size()) == name &&
         (segment.size() == name.size() || segment[name.size()] == '=');
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form decoding: %XX and '+'. A malformed escape is kept literally; '%' is not base62, so the
// key is then rejected as invalid.
inline std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The raw (still encoded) value of the first `name` parameter; nullopt when absent.
inline std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  query = query.substr(0, query.find('#'));
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view segment = query.substr(0, amp);
    if (segment_has_name(segment, name))
      return segment.size() == name.size() ? std::string_view() : segment.substr(name.size() + 1);
    if (amp == std::string_view::npos) return std::nullopt;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace credential_detail

// `query` is the part of the request target after '?' (a leading '?' is tolerated).
template <class HeaderLookup>
Credential extract_credential(const conf::RouteAuthConfig& route, HeaderLookup&& lookup,
                              std::string_view query) {
  namespace d = credential_detail;
  using Kind = conf::KeySource::Kind;
  for (const conf::KeySource& source : route.sources) {
    std::string_view value;
    if (source.kind == Kind::query) {
      const std::optional<std::string_view> encoded = d::query_value(query, source.name);
      if (!encoded || encoded->empty()) continue;
      // Each decoded byte takes at most 3 encoded ones; longer cannot decode short enough.
      if (encoded->size() > 3 * kMaxKeyLength) return Credential::too_long(source.kind);
      if (encoded->find_first_of("%+") != std::string_view::npos) {
        std::string decoded = d::percent_decode(*encoded);
        if (decoded.empty()) continue;
        if (decoded.size() > kMaxKeyLength) return Credential::too_long(source.kind);
        return Credential::owned(source.kind, std::move(decoded));
      }
      value = *encoded;
    } else {
      const std::optional<std::string_view> header = lookup(std::string_view(source.name));
      if (!header) continue;
      value = source.kind == Kind::bearer ? d::bearer_token(*header) : d::trim(*header);
      if (value.empty()) continue;
    }
    if (value.size() > kMaxKeyLength) return Credential::too_long(source.kind);
    return Credential::borrowed(source.kind, value);
  }
  return Credential::missing();
}

// The query part of a request target ("" when there is none).
inline std::string_view query_of(std::string_view target) {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

// `target` without any "name" / "name=..." parameter (also spelt "?name", as query_value reads
// a leading '?'); every other parameter is kept byte for byte and in order. Drops the '?' when
// nothing is left.
inline std::string remove_query_param(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q));
  out.reserve(target.size());
  std::string_view query = target.substr(q + 1);
  bool first = true;
  while (true) {
    const std::size_t amp = query.find('&');
    const std::string_view segment = query.substr(0, amp);
    // query_value() reads "??name=key" as "name=key": that spelling must go too, wherever it
    // stands, or the key that authenticated the request would be forwarded.
    const std::string_view named = segment.starts_with('?') ? segment.substr(1) : segment;
    if (!credential_detail::segment_has_name(named, name)) {
      out.push_back(first ? '?' : '&');
      out.append(segment);
      first = false;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace keygate::auth
