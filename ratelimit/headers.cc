#include "ratelimit/headers.h"

#include <algorithm>
#include <charconv>

namespace keygate::ratelimit {
namespace {

// Structured-field sf-string: only printable ASCII, with '"' and '\' escaped.
void append_sf_string(std::string& out, std::string_view value) {
  out.push_back('"');
  // Policy names are plain as a rule: then they go in one append.
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; })) {
    out.append(value);
    out.push_back('"');
    return;
  }
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  out.push_back('"');
}

void append_json_string(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

template <class Int>
void append_number(std::string& out, Int value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

std::int64_t seconds_until(std::int64_t when_ms, std::int64_t now_ms) {
  return std::max<std::int64_t>(0, ceil_seconds(when_ms - now_ms));
}

void append_draft_policy(std::string& value, const Decision& d) {
  for (std::size_t i = 0; i < d.policies.size(); ++i) {
    const PolicyDecision& p = d.policies[i];
    if (i > 0) value.append(", ");
    append_sf_string(value, p.name);
    value.append(";q=");
    append_number(value, p.limit);
    value.append(";w=");
    append_number(value, ceil_seconds(p.window.count()));
  }
}

void append_draft_state(std::string& value, const Decision& d) {
  for (std::size_t i = 0; i < d.policies.size(); ++i) {
    const PolicyDecision& p = d.policies[i];
    if (i > 0) value.append(", ");
    append_sf_string(value, p.name);
    value.append(";r=");
    append_number(value, p.remaining);
    value.append(";t=");
    append_number(value, seconds_until(p.reset_ms, d.now_ms));
  }
}

// Enough for the usual one or two policies: the first response of a connection reserves it
// at once; a response that needed much more gives its memory back when the next begins.
constexpr std::size_t kReservedBytes = 256;
constexpr std::size_t kKeptBytes = 4096;

}  // namespace

void RateLimitFields::clear() {
  if (text_.capacity() > kKeptBytes) std::string().swap(text_);
  text_.clear();
  count_ = 0;
}

void RateLimitFields::start(std::string_view name) {
  if (text_.capacity() < kReservedBytes) text_.reserve(kReservedBytes);
  // Six fields at most come from append_rate_limit_headers; more would be a bug there.
  if (count_ < kMaxFields) names_[count_++] = name;
  text_.append(name);
  text_.append(": ");
}

void append_rate_limit_headers(const Decision& d, bool draft_headers, RateLimitFields& out) {
  if (d.closest && *d.closest < d.policies.size()) {
    const PolicyDecision& p = d.policies[*d.closest];
    out.add("X-RateLimit-Limit", [&](std::string& v) { append_number(v, p.limit); });
    out.add("X-RateLimit-Remaining", [&](std::string& v) { append_number(v, p.remaining); });
    out.add("X-RateLimit-Reset", [&](std::string& v) { append_number(v, p.reset_unix_s); });
  }
  if (draft_headers && !d.policies.empty()) {
    out.add("RateLimit-Policy", [&](std::string& v) { append_draft_policy(v, d); });
    out.add("RateLimit", [&](std::string& v) { append_draft_state(v, d); });
  }
  if (!d.allowed())
    out.add("Retry-After", [&](std::string& v) { append_number(v, d.retry_after_s); });
}

unsigned http_status(const Decision& d) {
  switch (d.outcome) {
    case Outcome::allowed:
      return 200;
    case Outcome::rate_limited:
      return 429;
    case Outcome::unavailable:
      return 503;
  }
  return 503;
}

std::string error_body(const Decision& d) {
  std::string body;
  if (d.outcome == Outcome::unavailable) {
    body.append(R"({"error":{"message":"Rate limiting is temporarily unavailable",)"
                R"("type":"service_unavailable","code":"rate_limiter_unavailable","retry_after":)");
    body.append(std::to_string(d.retry_after_s)).append("}}");
    return body;
  }
  if (d.outcome != Outcome::rate_limited) return body;
  const PolicyDecision* refused =
      d.refused && *d.refused < d.policies.size() ? &d.policies[*d.refused] : nullptr;
  const bool quota = refused && refused->is_quota;
  body.append(R"({"error":{"message":)");
  append_json_string(body, quota ? "Monthly quota exceeded" : "Rate limit exceeded");
  body.append(R"(,"type":"rate_limit_error","code":)");
  append_json_string(body, quota ? "monthly_quota_exceeded" : "rate_limit_exceeded");
  body.append(R"(,"retry_after":)").append(std::to_string(d.retry_after_s));
  if (refused) {
    body.append(R"(,"policy":)");
    append_json_string(body, refused->name);
  }
  body.append("}}");
  return body;
}

}  // namespace keygate::ratelimit
