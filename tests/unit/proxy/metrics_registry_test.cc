// The Prometheus text of the registry: bucket bounds and sums print as the shortest number
// that reads back the same.
#include "proxy/metrics_registry.h"

#include <gtest/gtest.h>

#include "proxy/plan_summary.h"

namespace keygate::proxy {
namespace {

// Issue 10: %.17g printed le="0.00050000000000000001" for the 0.5 ms bucket.
TEST(MetricsRegistry, HistogramBoundsPrintShort) {
  MetricsRegistry registry;
  registry.histogram("h_seconds", "help", {"route"}, {0.0005, 0.001, 0.1, 2.5, 10})
      .with({"v1"})
      .observe(0.0007);
  const std::string text = registry.render();
  EXPECT_NE(text.find("h_seconds_bucket{route=\"v1\",le=\"0.0005\"} 0\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("h_seconds_bucket{route=\"v1\",le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"2.5\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"10\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("h_seconds_sum{route=\"v1\"} 0.0007\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("0000000"), std::string::npos) << text;
}

TEST(PlanSummary, SaysWhenThereAreNoPlans) {
  conf::KeysConfig keys;
  EXPECT_EQ(plans_summary(keys), "none (no key maximum, no monthly quota)");
  keys.plans = {{"free", 1, {}, 30000}, {"corp", std::nullopt, {"per-key"}, std::nullopt}};
  EXPECT_EQ(plans_summary(keys),
            "free (max_keys 1, monthly_quota 30000), corp (max_keys unlimited, monthly_quota "
            "none, rate_limits per-key)");
}

}  // namespace
}  // namespace keygate::proxy
