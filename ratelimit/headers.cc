#include "ratelimit/headers.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace keygate::ratelimit {
namespace {

// Writes a head's pieces through a raw cursor into room sized beforehand (an upper bound), so
// that no piece costs a string append of its own.
struct Cursor {
  char* at;

  void put(std::string_view text) {
    std::memcpy(at, text.data(), text.size());
    at += text.size();
  }
  void put(char c) { *at++ = c; }
  template <class Int>
  void number(Int value) {
    at = std::to_chars(at, at + kMaxDigits, value).ptr;
  }
  static constexpr std::size_t kMaxDigits = 20;  // of a 64-bit integer, with a sign
};

bool sf_plain(char c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

// Structured-field sf-string: only printable ASCII, with '"' and '\' escaped. At most
// 2 * size + 2 bytes.
void put_sf_string(Cursor& out, std::string_view value) {
  out.put('"');
  // Policy names are plain as a rule: then they go in one copy.
  if (std::all_of(value.begin(), value.end(), sf_plain)) {
    out.put(value);
  } else {
    for (char c : value) {
      if (c == '"' || c == '\\') out.put('\\');
      out.put(c >= 0x20 && c < 0x7f ? c : '?');
    }
  }
  out.put('"');
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

std::int64_t seconds_until(std::int64_t when_ms, std::int64_t now_ms) {
  return std::max<std::int64_t>(0, ceil_seconds(when_ms - now_ms));
}

// One policy's item of RateLimit-Policy ("name";q=limit;w=seconds) or RateLimit
// ("name";r=remaining;t=seconds).
template <class First, class Second>
void put_draft_item(Cursor& out, std::string_view name, std::string_view first_key, First first,
                    std::string_view second_key, Second second) {
  put_sf_string(out, name);
  out.put(first_key);
  out.number(first);
  out.put(second_key);
  out.number(second);
}

constexpr std::size_t kFieldOverhead = 4;                                // ": " and CRLF
constexpr std::size_t kDraftItemBytes = 2 + 6 + 2 * Cursor::kMaxDigits;  // quotes, keys, numbers

// Enough for the usual one or two policies, reserved at once by the first response an object
// serves; a response that needed much more gives its memory back when the next begins.
constexpr std::size_t kReservedBytes = 256;
constexpr std::size_t kKeptBytes = 4096;

}  // namespace

void RateLimitFields::clear() {
  if (text_.capacity() > kKeptBytes) std::string().swap(text_);
  text_.clear();
  count_ = 0;
}

void append_rate_limit_headers(const Decision& d, bool draft_headers, RateLimitFields& out) {
  const bool closest = d.closest && *d.closest < d.policies.size();
  const bool draft = draft_headers && !d.policies.empty();
  std::size_t bound = 0;
  if (closest) bound += 3 * (21 + kFieldOverhead + Cursor::kMaxDigits);  // X-RateLimit-Remaining
  if (draft) {
    std::size_t items = 0;
    for (const PolicyDecision& p : d.policies) items += 2 * p.name.size() + kDraftItemBytes + 2;
    bound += 2 * (16 + kFieldOverhead + items);  // RateLimit-Policy
  }
  if (!d.allowed()) bound += 11 + kFieldOverhead + Cursor::kMaxDigits;  // Retry-After
  if (bound == 0) return;

  std::string& text = out.text_;
  const std::size_t start = text.size();
  text.resize(std::max(start + bound, kReservedBytes));
  Cursor at{text.data() + start};
  auto field = [&](std::string_view name, auto&& put_value) {
    if (out.count_ < RateLimitFields::kMaxFields) out.names_[out.count_++] = name;
    at.put(name);
    at.put(": ");
    put_value();
    at.put("\r\n");
  };
  if (closest) {
    const PolicyDecision& p = d.policies[*d.closest];
    field("X-RateLimit-Limit", [&] { at.number(p.limit); });
    field("X-RateLimit-Remaining", [&] { at.number(p.remaining); });
    field("X-RateLimit-Reset", [&] { at.number(p.reset_unix_s); });
  }
  if (draft) {
    field("RateLimit-Policy", [&] {
      for (std::size_t i = 0; i < d.policies.size(); ++i) {
        const PolicyDecision& p = d.policies[i];
        if (i > 0) at.put(", ");
        put_draft_item(at, p.name, ";q=", p.limit, ";w=", ceil_seconds(p.window.count()));
      }
    });
    field("RateLimit", [&] {
      for (std::size_t i = 0; i < d.policies.size(); ++i) {
        const PolicyDecision& p = d.policies[i];
        if (i > 0) at.put(", ");
        put_draft_item(at, p.name, ";r=", p.remaining, ";t=", seconds_until(p.reset_ms, d.now_ms));
      }
    });
  }
  if (!d.allowed()) field("Retry-After", [&] { at.number(d.retry_after_s); });
  text.resize(static_cast<std::size_t>(at.at - text.data()));
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
