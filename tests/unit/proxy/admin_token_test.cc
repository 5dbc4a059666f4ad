// The admin token: where it is read from, and how an Authorization header is judged.
#include "proxy/admin_token.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace keygate::proxy {
namespace {

using Check = AdminToken::Check;

TEST(AdminToken, BearerSchemeIsCaseInsensitiveAndTheTokenExact) {
  const AdminToken token = AdminToken::from_value("s3cret-token");
  ASSERT_TRUE(token.configured());
  EXPECT_EQ(token.check("Bearer s3cret-token"), Check::ok);
  EXPECT_EQ(token.check("bearer s3cret-token"), Check::ok);
  EXPECT_EQ(token.check("BEARER  s3cret-token "), Check::ok);
  EXPECT_EQ(token.check("Bearer s3cret-tokeN"), Check::invalid);
  EXPECT_EQ(token.check("Bearer s3cret-token-and-more"), Check::invalid);
  EXPECT_EQ(token.check("Bearer s3cret"), Check::invalid);
  EXPECT_EQ(token.check(""), Check::missing);
  EXPECT_EQ(token.check("Bearer"), Check::missing);
  EXPECT_EQ(token.check("Bearer "), Check::missing);
  EXPECT_EQ(token.check("Basic czNjcmV0LXRva2Vu"), Check::missing);
  EXPECT_EQ(token.check("s3cret-token"), Check::missing);
}

TEST(AdminToken, NotConfiguredIsNotAProblem) {
  const AdminToken token = AdminToken::load(conf::AdminConfig{});
  EXPECT_FALSE(token.configured());
  EXPECT_EQ(token.problem(), "");
}

TEST(AdminToken, FileTokenIsTrimmedAndEnvironmentWins) {
  const auto dir = std::filesystem::temp_directory_path() / "keygate-admin-token-test";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "token").string();
  std::ofstream(file) << "from-file\n";

  conf::AdminConfig config;
  config.token_file = file;
  EXPECT_EQ(AdminToken::load(config).check("Bearer from-file"), Check::ok);

  config.token_env = "KEYGATE_ADMIN_TOKEN_TEST_VAR";
  ::unsetenv(config.token_env.c_str());
  EXPECT_EQ(AdminToken::load(config).check("Bearer from-file"), Check::ok) << "env unset: file";
  ::setenv(config.token_env.c_str(), "from-env", 1);
  const AdminToken token = AdminToken::load(config);
  EXPECT_EQ(token.check("Bearer from-env"), Check::ok);
  EXPECT_EQ(token.check("Bearer from-file"), Check::invalid);
  ::unsetenv(config.token_env.c_str());
  std::filesystem::remove_all(dir);
}

TEST(AdminToken, ConfiguredButEmptyOrMissingSaysWhy) {
  conf::AdminConfig config;
  config.token_env = "KEYGATE_ADMIN_TOKEN_TEST_UNSET";
  ::unsetenv(config.token_env.c_str());
  AdminToken token = AdminToken::load(config);
  EXPECT_FALSE(token.configured());
  EXPECT_NE(token.problem().find("$KEYGATE_ADMIN_TOKEN_TEST_UNSET"), std::string::npos);

  config = {};
  config.token_file = "/nonexistent/keygate/admin-token";
  token = AdminToken::load(config);
  EXPECT_FALSE(token.configured());
  EXPECT_NE(token.problem().find("/nonexistent/keygate/admin-token"), std::string::npos);
  EXPECT_EQ(token.check("Bearer anything"), Check::invalid);
}

}  // namespace
}  // namespace keygate::proxy
