// The fixture of the RedisLimiter tests: a real redis-server, a client on an io_context driven
// by hand, and a clock moved by hand.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "ratelimit/counter_key.h"
#include "ratelimit/in_memory_limiter.h"
#include "ratelimit/redis_limiter.h"
#include "tests/support/redis_server.h"
#include "tests/unit/ratelimit/test_util.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::ratelimit::testing {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;

using keygate::redis::test::run_until;

inline std::int64_t evalsha_calls(const RedisServer& server) {
  const redis::Reply info = server.command({"INFO", "commandstats"});
  const auto at = info.str.find("cmdstat_evalsha:calls=");
  if (at == std::string::npos) return 0;
  return std::stoll(info.str.substr(at + std::string_view("cmdstat_evalsha:calls=").size()));
}

class RedisLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = redis::make_client(io_.get_executor(), redis::test::config_for(server_));
    client_->start();
    ASSERT_TRUE(run_until(io_, [&] { return client_->connected(); }));
    local_ = std::make_shared<InMemoryLimiter>(clock_.clock(),
                                               InMemoryLimiterOptions{.limit_divisor = 2});
    limiter_ = make_limiter(200ms);
  }

  std::shared_ptr<RedisLimiter> make_limiter(std::chrono::milliseconds timeout) {
    RedisLimiterOptions options;
    options.key_prefix = "kg:";
    options.timeout = timeout;
    options.breaker_failures = 3;
    options.breaker_open_for = 2000ms;
    options.server_time = false;
    options.clock = clock_.clock();
    options.local = local_;
    return make_redis_limiter(io_.get_executor(), client_, options);
  }

  // As the proxy asks: a lease first, else Redis.
  Decision check(RedisLimiter& limiter, const std::vector<EffectivePolicy>& policies,
                 const Subject& s = subject()) {
    if (auto now = limiter.decide_now(policies, s)) return *now;
    std::optional<Decision> decision;
    limiter.check(policies, s, [&](Decision d) { decision = std::move(d); });
    EXPECT_TRUE(run_until(io_, [&] { return decision.has_value(); }));
    return decision.value_or(Decision{});
  }
  Decision check(const std::vector<EffectivePolicy>& policies, const Subject& s = subject()) {
    return check(*limiter_, policies, s);
  }

  // What org_1's monthly quota counter holds in Redis for the current period.
  std::string org_1_quota_used() {
    const std::int64_t period =
        window_index(clock_.now(), subject().org_created_at * 1000, kQuotaPeriodMs);
    return server_
        .command({"GET", "kg:rl:{org_1}:monthly_quota:org:org_1:" + std::to_string(period)})
        .str;
  }

  Subject with_mode(conf::LimitFailureMode mode) {
    Subject s = subject();
    s.on_store_failure = mode;
    return s;
  }

  RedisServer server_;
  boost::asio::io_context io_;
  ManualClock clock_{1'700'000'040'000};
  std::shared_ptr<redis::Client> client_;
  std::shared_ptr<InMemoryLimiter> local_;
  std::shared_ptr<RedisLimiter> limiter_;
};

// Checks made back to back, in one turn of the event loop (so they share script calls).
inline std::vector<Decision> check_in_one_turn(boost::asio::io_context& io, RedisLimiter& limiter,
                                               const std::vector<EffectivePolicy>& policies,
                                               const std::vector<Subject>& subjects) {
  std::vector<std::optional<Decision>> decisions(subjects.size());
  for (std::size_t i = 0; i < subjects.size(); ++i)
    limiter.check(policies, subjects[i], [&decisions, i](Decision d) { decisions[i] = d; });
  EXPECT_TRUE(run_until(io, [&] {
    return std::all_of(decisions.begin(), decisions.end(), [](auto& d) { return d.has_value(); });
  }));
  std::vector<Decision> out;
  for (auto& d : decisions) out.push_back(d.value_or(Decision{}));
  return out;
}

}  // namespace keygate::ratelimit::testing
