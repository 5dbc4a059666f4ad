#include "auth/key_checks.h"

#include <gtest/gtest.h>

#include "tests/unit/auth/auth_test_config.h"

namespace keygate::auth {
namespace {

using Kind = conf::KeySource::Kind;
constexpr UnixSeconds kNow = 1'700'000'000;

class KeyChecks : public ::testing::Test {
 protected:
  KeyChecks() {
    key.id = "key_1";
    key.environment = "live";
    key.type = "secret";
    key.scopes = {"pdf.read", "pdf.generate"};
  }

  AuthCode check(Kind source = Kind::bearer, const char* client = "10.1.2.3") const {
    return check_key(*CompactKey::make(key), route, keys, source,
                     boost::asio::ip::make_address(client), kNow);
  }

  KeyRecord key;
  conf::RouteAuthConfig route;
  conf::KeysConfig keys = testing::test_keys_config();
};

TEST_F(KeyChecks, PlainActiveKeyPasses) {
  EXPECT_EQ(check(), AuthCode::ok);
}

TEST_F(KeyChecks, Status) {
  key.status = KeyStatus::revoked;
  EXPECT_EQ(check(), AuthCode::revoked_api_key);
  key.status = KeyStatus::inactive;
  EXPECT_EQ(check(), AuthCode::inactive_api_key);
}

TEST_F(KeyChecks, Expiry) {
  key.expires_at = kNow + 1;
  EXPECT_EQ(check(), AuthCode::ok);
  key.expires_at = kNow;
  EXPECT_EQ(check(), AuthCode::expired_api_key);
}

TEST_F(KeyChecks, RotationGrace) {
  key.successor_id = "key_2";
  key.grace_until = kNow + 60;
  EXPECT_EQ(check(), AuthCode::ok);
  key.grace_until = kNow - 1;
  EXPECT_EQ(check(), AuthCode::revoked_api_key);
}

TEST_F(KeyChecks, Environment) {
  route.environments = {"test"};
  EXPECT_EQ(check(), AuthCode::wrong_environment);
  route.environments = {"test", "live"};
  EXPECT_EQ(check(), AuthCode::ok);
}

TEST_F(KeyChecks, KeyType) {
  route.key_types = {"public"};
  EXPECT_EQ(check(), AuthCode::key_type_not_allowed);
  route.key_types = {"public", "secret"};
  EXPECT_EQ(check(), AuthCode::ok);
}

TEST_F(KeyChecks, SecretKeyInQueryString) {
  EXPECT_EQ(check(Kind::query), AuthCode::key_type_not_allowed);
  EXPECT_EQ(check(Kind::header), AuthCode::ok);
  route.allow_query_for_secret_keys = true;
  EXPECT_EQ(check(Kind::query), AuthCode::ok);
  route.allow_query_for_secret_keys = false;
  key.type = "public";  // not in secret_types
  EXPECT_EQ(check(Kind::query), AuthCode::ok);
  key.type = "admin";
  EXPECT_EQ(check(Kind::query), AuthCode::key_type_not_allowed);
}

TEST_F(KeyChecks, Cidr) {
  key.allowed_cidrs = {"192.168.0.0/16", "2001:db8::/32"};
  EXPECT_EQ(check(Kind::bearer, "10.1.2.3"), AuthCode::ip_not_allowed);
  EXPECT_EQ(check(Kind::bearer, "192.168.5.5"), AuthCode::ok);
  EXPECT_EQ(check(Kind::bearer, "2001:db8::7"), AuthCode::ok);
  key.allowed_cidrs = {"192.168.0.0/16", "not-a-cidr"};
  EXPECT_EQ(check(Kind::bearer, "192.168.5.5"), AuthCode::ip_not_allowed);  // fail closed
}

TEST_F(KeyChecks, ScopesAll) {
  route.scopes_all = {"pdf.read"};
  EXPECT_EQ(check(), AuthCode::ok);
  route.scopes_all = {"pdf.read", "template.read"};
  EXPECT_EQ(check(), AuthCode::insufficient_permissions);
}

TEST_F(KeyChecks, ScopesAny) {
  route.scopes_any = {"template.read", "pdf.generate"};
  EXPECT_EQ(check(), AuthCode::ok);
  route.scopes_any = {"template.read", "admin"};
  EXPECT_EQ(check(), AuthCode::insufficient_permissions);
}

TEST_F(KeyChecks, ScopesAllAndAnyTogether) {
  route.scopes_all = {"pdf.read"};
  route.scopes_any = {"admin", "pdf.generate"};
  EXPECT_EQ(check(), AuthCode::ok);
  key.scopes = {"pdf.read"};
  EXPECT_EQ(check(), AuthCode::insufficient_permissions);
}

TEST_F(KeyChecks, ScopesMatchExactly) {
  route.scopes_all = {"pdf.read"};
  key.scopes = {"PDF.read", "pdf.read.extra", "pdf.*"};
  EXPECT_EQ(check(), AuthCode::insufficient_permissions);
}

// Every check fails at once; removing the failures one by one reveals the documented order.
TEST_F(KeyChecks, PrecedenceFollowsTheHeader) {
  key.status = KeyStatus::revoked;
  key.grace_until = kNow - 1;
  key.expires_at = kNow - 1;
  key.allowed_cidrs = {"192.168.0.0/16"};
  route.environments = {"test"};
  route.key_types = {"public"};
  route.scopes_all = {"missing"};

  EXPECT_EQ(check(Kind::query), AuthCode::revoked_api_key);
  key.status = KeyStatus::inactive;
  EXPECT_EQ(check(Kind::query), AuthCode::revoked_api_key);  // grace passed
  key.grace_until.reset();
  EXPECT_EQ(check(Kind::query), AuthCode::expired_api_key);
  key.expires_at.reset();
  EXPECT_EQ(check(Kind::query), AuthCode::inactive_api_key);
  key.status = KeyStatus::active;
  EXPECT_EQ(check(Kind::query), AuthCode::ip_not_allowed);
  key.allowed_cidrs.clear();
  EXPECT_EQ(check(Kind::query), AuthCode::key_type_not_allowed);  // secret via query
  route.allow_query_for_secret_keys = true;
  EXPECT_EQ(check(Kind::query), AuthCode::wrong_environment);
  route.environments.clear();
  EXPECT_EQ(check(Kind::query), AuthCode::key_type_not_allowed);
  route.key_types.clear();
  EXPECT_EQ(check(Kind::query), AuthCode::insufficient_permissions);
  route.scopes_all.clear();
  EXPECT_EQ(check(Kind::query), AuthCode::ok);
}

}  // namespace
}  // namespace keygate::auth
