#include "ratelimit/policy_resolver.h"

#include <gtest/gtest.h>

namespace keygate::ratelimit {
namespace {

conf::RateLimitPolicyConfig configured(std::string name, std::uint64_t limit,
                                       std::int64_t window_ms, Counter per = Counter::key,
                                       Algorithm algorithm = Algorithm::sliding_window) {
  conf::RateLimitPolicyConfig p;
  p.name = std::move(name);
  p.limit = limit;
  p.window = conf::Duration(window_ms);
  p.per = per;
  p.algorithm = algorithm;
  return p;
}

std::shared_ptr<conf::Config> make_config() {
  auto config = std::make_shared<conf::Config>();
  config->rate_limits.policies = {
      configured("per-key-minute", 60, 60000),
      configured("per-org-second", 20, 1000, Counter::org, Algorithm::token_bucket),
      configured("route-burst", 100, 1000, Counter::route, Algorithm::fixed_window),
      configured("public-ip", 10, 60000, Counter::client_ip),
  };
  conf::RouteConfig api;
  api.name = "api";
  api.rate_limits = {"route-burst", "per-key-minute"};
  conf::RouteConfig open;
  open.name = "open";
  open.rate_limits = {"public-ip"};
  config->routes = {api, open};

  conf::PlanConfig free;
  free.name = "free";
  free.rate_limits = {"per-key-minute"};  // also on the route: listed once
  free.monthly_quota = 30000;
  conf::PlanConfig scale;
  scale.name = "scale";
  scale.rate_limits = {"per-org-second"};
  config->keys.plans = {free, scale};
  config->keys.default_plan = "free";
  config->keys.type_rate_limits = {{"public", {"public-ip"}}};
  return config;
}

std::vector<std::string> names(const PolicyList& list) {
  std::vector<std::string> out;
  for (const auto& p : *list) out.push_back(p.name);
  return out;
}

class PolicyResolverTest : public ::testing::Test {
 protected:
  std::shared_ptr<conf::Config> config_ = make_config();
  PolicyResolver resolver_{config_};
  const conf::RouteConfig& api() const { return config_->routes[0]; }
  const conf::RouteConfig& open() const { return config_->routes[1]; }
};

TEST_F(PolicyResolverTest, RoutePlanAndTypePoliciesDeduplicatedInOrder) {
  EXPECT_EQ(names(resolver_.resolve(api(), "free", "secret")),
            (std::vector<std::string>{"route-burst", "per-key-minute", "monthly_quota"}));
  EXPECT_EQ(
      names(resolver_.resolve(api(), "free", "public")),
      (std::vector<std::string>{"route-burst", "per-key-minute", "monthly_quota", "public-ip"}));
  EXPECT_EQ(names(resolver_.resolve(api(), "scale", "secret")),
            (std::vector<std::string>{"route-burst", "per-key-minute", "per-org-second"}));
}

TEST_F(PolicyResolverTest, PlanQuotaBecomesAnOrgMonthlyFixedWindow) {
  const PolicyList list = resolver_.resolve(api(), "free", "secret");
  const EffectivePolicy& quota = list->back();
  EXPECT_EQ(quota.name, "monthly_quota");
  EXPECT_TRUE(quota.monthly_quota);
  EXPECT_EQ(quota.per, Counter::org);
  EXPECT_EQ(quota.limit, 30000u);
  EXPECT_EQ(quota.effective_window_ms(), kQuotaPeriodMs);
  EXPECT_EQ(quota.effective_algorithm(), Algorithm::fixed_window);
}

TEST_F(PolicyResolverTest, ConfiguredValuesAreCarriedOver) {
  const PolicyList list = resolver_.resolve(api(), "scale", "secret");
  const EffectivePolicy& org = (*list)[2];
  EXPECT_EQ(org.per, Counter::org);
  EXPECT_EQ(org.algorithm, Algorithm::token_bucket);
  EXPECT_EQ(org.limit, 20u);
  EXPECT_EQ(org.window_ms, 1000);
  EXPECT_EQ(org.bucket_size(), 20u);
}

TEST_F(PolicyResolverTest, WithoutOverridesTheListIsSharedNotRebuilt) {
  const PolicyList a = resolver_.resolve(api(), "free", "secret");
  const PolicyList b = resolver_.resolve(api(), "free", "secret");
  EXPECT_EQ(a.get(), b.get());
  // Types without policies of their own share the plan's list.
  EXPECT_EQ(resolver_.resolve(api(), "free", "admin").get(), a.get());
}

TEST_F(PolicyResolverTest, UnknownOrEmptyPlanGetsTheDefaultPlan) {
  EXPECT_EQ(resolver_.resolve(api(), "gone", "secret").get(),
            resolver_.resolve(api(), "free", "secret").get());
  EXPECT_EQ(resolver_.resolve(api(), "", "secret").get(),
            resolver_.resolve(api(), "free", "secret").get());
}

TEST_F(PolicyResolverTest, OverridesAdjustLimitAndWindow) {
  const std::vector<auth::LimitOverride> overrides{
      {"per-key-minute", 600, std::nullopt},
      {"route-burst", std::nullopt, 2000},
      {"monthly_quota", 1'000'000, 1000},  // the quota period itself is not overridable
      {"not-applied-here", 1, 1},
  };
  const PolicyList shared = resolver_.resolve(api(), "free", "secret");
  const PolicyList list = resolver_.resolve(api(), "free", "secret", overrides);
  EXPECT_NE(list.get(), shared.get());
  ASSERT_EQ(names(list), names(shared));
  EXPECT_EQ((*list)[0].limit, 100u);
  EXPECT_EQ((*list)[0].window_ms, 2000);
  EXPECT_EQ((*list)[1].limit, 600u);
  EXPECT_EQ((*list)[1].window_ms, 60000);
  EXPECT_EQ((*list)[2].limit, 1'000'000u);
  EXPECT_EQ((*list)[2].effective_window_ms(), kQuotaPeriodMs);
  // The shared list is untouched.
  EXPECT_EQ((*shared)[1].limit, 60u);
}

TEST_F(PolicyResolverTest, OverridesOfPoliciesThatDoNotApplyChangeNothing) {
  const std::vector<auth::LimitOverride> overrides{{"per-org-second", 5, std::nullopt}};
  EXPECT_EQ(resolver_.resolve(api(), "free", "secret", overrides).get(),
            resolver_.resolve(api(), "free", "secret").get());
}

TEST_F(PolicyResolverTest, TokenBucketBurstFollowsAnOverriddenLimitUnlessSetExplicitly) {
  const std::vector<auth::LimitOverride> overrides{{"per-org-second", 50, std::nullopt}};
  EXPECT_EQ((*resolver_.resolve(api(), "scale", "x", overrides))[2].bucket_size(), 50u);
  config_->rate_limits.policies[1].burst = 7;
  PolicyResolver with_burst(config_);
  EXPECT_EQ((*with_burst.resolve(api(), "scale", "x", overrides))[2].bucket_size(), 7u);
}

TEST_F(PolicyResolverTest, AnonymousRequestsGetOnlyRoutePolicies) {
  EXPECT_EQ(names(resolver_.resolve_anonymous(open())), (std::vector<std::string>{"public-ip"}));
  EXPECT_EQ(names(resolver_.resolve_anonymous(api())),
            (std::vector<std::string>{"route-burst", "per-key-minute"}));
}

TEST_F(PolicyResolverTest, RouteOfAnotherConfigSnapshotIsResolvedOnDemand) {
  conf::RouteConfig other = api();
  other.rate_limits = {"public-ip"};
  EXPECT_EQ(names(resolver_.resolve(other, "scale", "secret")),
            (std::vector<std::string>{"public-ip", "per-org-second"}));
}

TEST_F(PolicyResolverTest, UnknownPolicyNamesAreSkipped) {
  config_->routes[0].rate_limits.push_back("nope");
  PolicyResolver resolver(config_);
  EXPECT_EQ(names(resolver.resolve_anonymous(config_->routes[0])),
            (std::vector<std::string>{"route-burst", "per-key-minute"}));
}

}  // namespace
}  // namespace keygate::ratelimit
