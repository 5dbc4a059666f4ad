// Response header fields and error bodies from a Decision: the proxy decides where they go;
// this module knows nothing of HTTP sessions.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "ratelimit/decision.h"

namespace keygate::ratelimit {

// The rate-limit fields of one response, written once as "Name: value\r\n" lines, the form
// they leave in, so that no field is a string of its own. The names (literals) are kept too:
// a forwarded response leaves out the upstream's fields of the same names. One object serves
// request after request: clear() keeps its memory. append_rate_limit_headers fills it.
class RateLimitFields {
 public:
  static constexpr std::size_t kMaxFields = 6;

  std::string_view text() const { return text_; }
  std::span<const std::string_view> names() const { return {names_.data(), count_}; }
  bool empty() const { return count_ == 0; }
  void clear();

  // Visits (name, value) of every field, in order.
  template <class Visit>
  void for_each(Visit&& visit) const {
    std::size_t at = 0;
    for (std::string_view name : names()) {
      at += name.size() + 2;  // "Name: "
      const std::size_t end = text_.find("\r\n", at);
      visit(name, std::string_view(text_).substr(at, end - at));
      at = end + 2;
    }
  }

 private:
  friend void append_rate_limit_headers(const Decision&, bool, RateLimitFields&);

  std::string text_;
  std::array<std::string_view, kMaxFields> names_{};
  std::size_t count_ = 0;
};

// X-RateLimit-Limit/-Remaining/-Reset (Unix seconds) for the policy closest to running out;
// with `draft_headers`, RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers)
// listing every policy; Retry-After (seconds) when refused or the store is unavailable.
// Appended to `out`.
void append_rate_limit_headers(const Decision& decision, bool draft_headers, RateLimitFields& out);

// 200 when allowed, 429 when a policy refused, 503 when the store failed on a fail_closed route.
unsigned http_status(const Decision& decision);

// The JSON body of a 429 (code rate_limit_exceeded, or monthly_quota_exceeded when the quota is
// what refused) or of a 503; empty when the request is allowed.
std::string error_body(const Decision& decision);

}  // namespace keygate::ratelimit
