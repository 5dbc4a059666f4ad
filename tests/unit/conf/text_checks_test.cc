#include "conf/text_checks.h"

#include <gtest/gtest.h>

namespace keygate::conf {
namespace {

TEST(TextChecks, KeyPrefixes) {
  for (const char* good : {"sk_", "sk_live_", "a1_b2_c3_", "acme_"})
    EXPECT_TRUE(is_key_prefix(good));
  for (const char* bad : {"", "_", "sk", "sk_live", "_sk_", "sk__", "Sk_", "sk-live_", "sk live_"})
    EXPECT_FALSE(is_key_prefix(bad)) << bad;
}

TEST(TextChecks, LoopbackAddresses) {
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback_address(loopback)) << loopback;
  for (const char* other :
       {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "localhost", "::ffff:10.0.0.1"})
    EXPECT_FALSE(is_loopback_address(other)) << other;
}

TEST(TextChecks, HeaderNamesAndEnvironmentVariables) {
  EXPECT_TRUE(is_http_token("X-Keygate-Key-Id"));
  EXPECT_FALSE(is_http_token("X Keygate"));
  EXPECT_FALSE(is_http_token("X:Y"));
  EXPECT_FALSE(is_http_token(""));
  EXPECT_TRUE(is_env_var_name("KEYGATE_ADMIN_TOKEN"));
  EXPECT_FALSE(is_env_var_name("1TOKEN"));
  EXPECT_FALSE(is_env_var_name("MY-TOKEN"));
}

}  // namespace
}  // namespace keygate::conf
