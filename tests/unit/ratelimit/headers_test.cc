#include "ratelimit/headers.h"

#include <gtest/gtest.h>

namespace keygate::ratelimit {
namespace {

constexpr std::int64_t kNow = 1'700'000'020'000;

PolicyDecision pd(std::string name, std::uint64_t limit, std::uint64_t remaining,
                  std::int64_t window_ms, std::int64_t reset_ms) {
  PolicyDecision p;
  p.name = std::move(name);
  p.limit = limit;
  p.remaining = remaining;
  p.window = std::chrono::milliseconds(window_ms);
  p.reset_ms = reset_ms;
  p.reset_unix_s = ceil_seconds(reset_ms);
  return p;
}

using HeaderFields = std::vector<std::pair<std::string_view, std::string>>;

// The fields as (name, value) pairs, after checking that the text is exactly their lines.
HeaderFields rate_limit_headers(const Decision& d, bool draft_headers) {
  RateLimitFields written;
  append_rate_limit_headers(d, draft_headers, written);
  HeaderFields fields;
  std::string lines;
  written.for_each([&](std::string_view name, std::string_view value) {
    fields.emplace_back(name, value);
    lines.append(name).append(": ").append(value).append("\r\n");
  });
  EXPECT_EQ(written.text(), lines);
  EXPECT_EQ(written.names().size(), fields.size());
  return fields;
}

std::string find(const HeaderFields& fields, const std::string& name) {
  for (const auto& [field, value] : fields)
    if (field == name) return value;
  return "<absent>";
}

TEST(Headers, XRateLimitForThePolicyClosestToRunningOut) {
  Decision d = decide({pd("per-key-minute", 60, 12, 60000, kNow + 40000),
                       pd("per-org-second", 20, 19, 1000, kNow + 1000)},
                      kNow);
  HeaderFields f = rate_limit_headers(d, false);
  EXPECT_EQ(f, (HeaderFields{{"X-RateLimit-Limit", "60"},
                             {"X-RateLimit-Remaining", "12"},
                             {"X-RateLimit-Reset", "1700000060"}}));
}

TEST(Headers, DraftHeadersListEveryPolicy) {
  Decision d = decide({pd("per-key-minute", 60, 12, 60000, kNow + 40000),
                       pd("monthly_quota", 30000, 29000, 2'592'000'000, kNow + 86'400'500)},
                      kNow);
  HeaderFields f = rate_limit_headers(d, true);
  EXPECT_EQ(find(f, "RateLimit-Policy"),
            R"("per-key-minute";q=60;w=60, "monthly_quota";q=30000;w=2592000)");
  EXPECT_EQ(find(f, "RateLimit"), R"("per-key-minute";r=12;t=40, "monthly_quota";r=29000;t=86401)");
  EXPECT_EQ(find(f, "Retry-After"), "<absent>");
}

TEST(Headers, RefusalAddsRetryAfterAndShowsTheRefusingPolicy) {
  PolicyDecision refused = pd("per-key-minute", 60, 0, 60000, kNow + 40000);
  refused.allowed = false;
  refused.retry_after_ms = 39001;
  refused.retry_after_s = 40;
  Decision d = decide({pd("org", 10, 0, 1000, kNow + 500), refused}, kNow);
  HeaderFields f = rate_limit_headers(d, false);
  EXPECT_EQ(find(f, "X-RateLimit-Limit"), "60");
  EXPECT_EQ(find(f, "X-RateLimit-Remaining"), "0");
  EXPECT_EQ(find(f, "Retry-After"), "40");
  EXPECT_EQ(http_status(d), 429u);
  EXPECT_EQ(error_body(d),
            R"({"error":{"message":"Rate limit exceeded","type":"rate_limit_error",)"
            R"("code":"rate_limit_exceeded","retry_after":40,"policy":"per-key-minute"}})");
}

TEST(Headers, SpentMonthlyQuotaHasItsOwnCode) {
  PolicyDecision quota = pd("monthly_quota", 30000, 0, 2'592'000'000, kNow + 86'400'000);
  quota.allowed = false;
  quota.retry_after_ms = 86'400'000;
  quota.retry_after_s = 86400;
  quota.is_quota = true;
  Decision d = decide({quota}, kNow);
  EXPECT_EQ(error_body(d),
            R"({"error":{"message":"Monthly quota exceeded","type":"rate_limit_error",)"
            R"("code":"monthly_quota_exceeded","retry_after":86400,"policy":"monthly_quota"}})");
}

TEST(Headers, StoreUnavailableIsA503WithRetryAfterAndNoLimits) {
  Decision d = store_failure_refused(kNow, 1500);
  HeaderFields f = rate_limit_headers(d, true);
  EXPECT_EQ(f, (HeaderFields{{"Retry-After", "2"}}));
  EXPECT_EQ(http_status(d), 503u);
  EXPECT_EQ(error_body(d),
            R"({"error":{"message":"Rate limiting is temporarily unavailable",)"
            R"("type":"service_unavailable","code":"rate_limiter_unavailable","retry_after":2}})");
}

TEST(Headers, AllowedWithoutPoliciesHasNoHeadersOrBody) {
  Decision d = store_failure_allowed(kNow);
  EXPECT_TRUE(rate_limit_headers(d, true).empty());
  EXPECT_EQ(error_body(d), "");
  EXPECT_EQ(http_status(d), 200u);
}

TEST(Headers, NamesAreEscaped) {
  PolicyDecision p = pd("a\"b\\c", 1, 0, 1000, kNow);
  p.allowed = false;
  p.retry_after_ms = 1;
  p.retry_after_s = 1;
  Decision d = decide({p}, kNow);
  EXPECT_EQ(find(rate_limit_headers(d, true), "RateLimit"), R"("a\"b\\c";r=0;t=0)");
  EXPECT_NE(error_body(d).find(R"("policy":"a\"b\\c")"), std::string::npos);
}

TEST(Headers, RefusalWithDraftHeadersWritesAllSixFields) {
  PolicyDecision refused = pd("per-key-minute", 60, 0, 60000, kNow + 40000);
  refused.allowed = false;
  refused.retry_after_ms = 40000;
  refused.retry_after_s = 40;
  HeaderFields f = rate_limit_headers(decide({refused}, kNow), true);
  ASSERT_EQ(f.size(), RateLimitFields::kMaxFields);
  EXPECT_EQ(f.back(), (HeaderFields::value_type{"Retry-After", "40"}));
}

TEST(Headers, ClearedFieldsServeTheNextResponseWithoutTheLastOnesFields) {
  RateLimitFields fields;
  PolicyDecision refused = pd("per-key-minute", 60, 0, 60000, kNow + 40000);
  refused.allowed = false;
  refused.retry_after_s = 40;
  append_rate_limit_headers(decide({refused}, kNow), true, fields);
  fields.clear();
  EXPECT_TRUE(fields.empty());
  EXPECT_EQ(fields.text(), "");
  append_rate_limit_headers(decide({pd("per-key-minute", 60, 59, 60000, kNow + 40000)}, kNow),
                            false, fields);
  EXPECT_EQ(fields.text(),
            "X-RateLimit-Limit: 60\r\nX-RateLimit-Remaining: 59\r\n"
            "X-RateLimit-Reset: 1700000060\r\n");
}

TEST(Headers, ManyPoliciesWithNamesThatAllNeedEscapingFitTheirRoom) {
  std::vector<PolicyDecision> policies;
  for (int i = 0; i < 20; ++i) {
    PolicyDecision p = pd(std::string(100, '"'), UINT64_MAX, UINT64_MAX, 60000, INT64_MAX);
    p.allowed = false;
    p.retry_after_s = INT64_MAX;
    policies.push_back(p);
  }
  const Decision d = decide(policies, kNow);
  HeaderFields f = rate_limit_headers(d, true);
  ASSERT_EQ(f.size(), RateLimitFields::kMaxFields);
  std::string item = "\"";
  for (int i = 0; i < 100; ++i) item += "\\\"";
  item += '"';
  EXPECT_EQ(find(f, "Retry-After"), "9223372036854775807");
  const std::string policy = find(f, "RateLimit-Policy");
  EXPECT_TRUE(policy.starts_with(item + ";q=18446744073709551615;w=60, " + item)) << policy;
  EXPECT_EQ(policy.size(),
            20 * (202 + std::string(";q=18446744073709551615;w=60").size()) + 19 * 2);
}

TEST(Headers, ALargeBlockIsGivenBackWhenTheNextResponseBegins) {
  std::vector<PolicyDecision> policies(40, pd(std::string(100, 'p'), 1, 1, 1000, kNow));
  RateLimitFields fields;
  append_rate_limit_headers(decide(policies, kNow), true, fields);
  EXPECT_GT(fields.text().size(), 4096u);
  fields.clear();
  append_rate_limit_headers(decide({pd("small", 1, 1, 1000, kNow)}, kNow), false, fields);
  EXPECT_EQ(
      fields.text(),
      "X-RateLimit-Limit: 1\r\nX-RateLimit-Remaining: 1\r\nX-RateLimit-Reset: 1700000020\r\n");
}

}  // namespace
}  // namespace keygate::ratelimit
