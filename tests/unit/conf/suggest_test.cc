#include "conf/suggest.h"

#include <gtest/gtest.h>

namespace keygate::conf {
namespace {

const std::vector<std::string_view> kRouteKeys = {"name", "match",       "upstream",
                                                  "auth", "rate_limits", "max_body"};

TEST(Suggest, FindsTyposTranspositionsAndCase) {
  EXPECT_EQ(closest_match("uptream", kRouteKeys), "upstream");
  EXPECT_EQ(closest_match("upstraem", kRouteKeys), "upstream");
  EXPECT_EQ(closest_match("Auth", kRouteKeys), "auth");
  EXPECT_EQ(closest_match("rate_limit", kRouteKeys), "rate_limits");
}

TEST(Suggest, StaysQuietWhenNothingIsClose) {
  EXPECT_EQ(closest_match("timeout", kRouteKeys), "");
  EXPECT_EQ(did_you_mean("xyz", kRouteKeys), "");
  EXPECT_EQ(did_you_mean("mach", kRouteKeys), " (did you mean 'match'?)");
}

}  // namespace
}  // namespace keygate::conf
