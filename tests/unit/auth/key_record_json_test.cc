#include "auth/key_record_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace keygate::auth {
namespace {

KeyRecord full_record() {
  KeyRecord k;
  k.id = "key_0123456789abcdef01234567";
  k.hash = std::string(64, 'a');
  k.prefix = "sk_live_a1B2c3";
  k.name = "Production server";
  k.org = "org_1";
  k.environment = "live";
  k.type = "secret";
  k.scopes = {"pdf.generate", "pdf.read"};
  k.status = KeyStatus::inactive;
  k.created_at = 1700000000;
  k.created_by = "ops@example.com";
  k.expires_at = 1800000000;
  k.revoked_at = 1750000000;
  k.last_used_at = 1710000000;
  k.allowed_cidrs = {"10.0.0.0/8", "2001:db8::/32"};
  k.limit_overrides = {{"per-key", 1000, 60000}, {"burst", std::nullopt, 1000}, {"q", 5, {}}};
  k.successor_id = "key_ffffffffffffffffffffffff";
  k.grace_until = 1760000000;
  return k;
}

void expect_same(const KeyRecord& a, const KeyRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.prefix, b.prefix);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.org, b.org);
  EXPECT_EQ(a.environment, b.environment);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.scopes, b.scopes);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.created_by, b.created_by);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.revoked_at, b.revoked_at);
  EXPECT_EQ(a.last_used_at, b.last_used_at);
  EXPECT_EQ(a.allowed_cidrs, b.allowed_cidrs);
  ASSERT_EQ(a.limit_overrides.size(), b.limit_overrides.size());
  for (std::size_t i = 0; i < a.limit_overrides.size(); ++i) {
    EXPECT_EQ(a.limit_overrides[i].policy, b.limit_overrides[i].policy);
    EXPECT_EQ(a.limit_overrides[i].limit, b.limit_overrides[i].limit);
    EXPECT_EQ(a.limit_overrides[i].window_ms, b.limit_overrides[i].window_ms);
  }
  EXPECT_EQ(a.successor_id, b.successor_id);
  EXPECT_EQ(a.grace_until, b.grace_until);
}

TEST(KeyRecordJson, FullRoundTrip) {
  const KeyRecord original = full_record();
  std::string error;
  const auto parsed = parse_key_record(key_record_to_json_string(original), error);
  ASSERT_TRUE(parsed) << error;
  expect_same(original, *parsed);
}

TEST(KeyRecordJson, MinimalRoundTripOmitsUnsetOptionals) {
  KeyRecord minimal;
  minimal.id = "key_1";
  minimal.hash = "h";
  const std::string text = key_record_to_json_string(minimal);
  EXPECT_EQ(text.find("expires_at"), std::string::npos) << text;
  EXPECT_EQ(text.find("grace_until"), std::string::npos) << text;
  EXPECT_NE(text.find("\"status\":\"active\""), std::string::npos) << text;
  std::string error;
  const auto parsed = parse_key_record(text, error);
  ASSERT_TRUE(parsed) << error;
  expect_same(minimal, *parsed);
}

TEST(KeyRecordJson, StatusStrings) {
  for (KeyStatus s : {KeyStatus::active, KeyStatus::inactive, KeyStatus::revoked})
    EXPECT_EQ(parse_key_status(key_status_name(s)), s);
  EXPECT_EQ(key_status_name(KeyStatus::revoked), "revoked");
  EXPECT_FALSE(parse_key_status("Active"));
  EXPECT_FALSE(parse_key_status("expired"));
}

TEST(KeyRecordJson, NullOptionalsAndUnknownFieldsAccepted) {
  std::string error;
  const auto parsed = parse_key_record(
      R"({"id":"key_1","hash":"h","expires_at":null,"future_field":{"x":1},"status":"revoked"})",
      error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_FALSE(parsed->expires_at);
  EXPECT_EQ(parsed->status, KeyStatus::revoked);
}

struct Malformed {
  const char* json;
  const char* error_mentions;
};

class KeyRecordJsonMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(KeyRecordJsonMalformed, RejectedWithMessage) {
  std::string error;
  EXPECT_FALSE(parse_key_record(GetParam().json, error)) << GetParam().json;
  EXPECT_NE(error.find(GetParam().error_mentions), std::string::npos)
      << GetParam().json << " -> " << error;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KeyRecordJsonMalformed,
    ::testing::Values(
        Malformed{"", "invalid JSON"}, Malformed{"{", "invalid JSON"},
        Malformed{"[1,2]", "must be a JSON object"},
        Malformed{R"({"hash":"h"})", "key.id is required"},
        Malformed{R"({"id":"k"})", "key.hash is required"},
        Malformed{R"({"id":5,"hash":"h"})", "key.id must be a string"},
        Malformed{R"({"id":"k","hash":"h","status":"gone"})", "key.status"},
        Malformed{R"({"id":"k","hash":"h","scopes":"read"})", "key.scopes"},
        Malformed{R"({"id":"k","hash":"h","scopes":["a",1]})", "key.scopes"},
        Malformed{R"({"id":"k","hash":"h","created_at":-1})", "key.created_at"},
        Malformed{R"({"id":"k","hash":"h","expires_at":1.5})", "key.expires_at"},
        Malformed{R"({"id":"k","hash":"h","expires_at":"2024"})", "key.expires_at"},
        Malformed{R"({"id":"k","hash":"h","grace_until":18446744073709551615})", "key.grace_until"},
        Malformed{R"({"id":"k","hash":"h","limit_overrides":{}})", "key.limit_overrides"},
        Malformed{R"({"id":"k","hash":"h","limit_overrides":[{"limit":1}]})",
                  "key.limit_overrides[0].policy is required"},
        Malformed{R"({"id":"k","hash":"h","limit_overrides":[{"policy":"p","limit":-1}]})",
                  "key.limit_overrides[0].limit"},
        Malformed{R"({"id":"k","hash":"h","limit_overrides":[{"policy":"p","window_ms":0}]})",
                  "key.limit_overrides[0].window_ms"}));

TEST(KeyRecordJson, OversizedTextRejected) {
  std::string error;
  const std::string huge =
      R"({"id":"k","hash":"h","name":")" + std::string(kMaxRecordJsonBytes, 'x') + "\"}";
  EXPECT_FALSE(parse_key_record(huge, error));
  EXPECT_NE(error.find("larger"), std::string::npos);
}

TEST(KeyRecordJson, DeeplyNestedInputDoesNotThrow) {
  std::string error;
  const std::string nested = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_FALSE(parse_key_record(nested, error));
}

TEST(OrgRecordJson, RoundTripAndErrors) {
  OrgRecord org{"org_1", "growth", 1700000000};
  std::string error;
  const auto parsed = parse_org_record(org_record_to_json_string(org), error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->id, "org_1");
  EXPECT_EQ(parsed->plan, "growth");
  EXPECT_EQ(parsed->created_at, 1700000000);
  EXPECT_FALSE(parse_org_record(R"({"plan":"free"})", error));
  EXPECT_NE(error.find("org.id"), std::string::npos);
  EXPECT_FALSE(parse_org_record(R"({"id":"o","created_at":"yesterday"})", error));
  EXPECT_FALSE(parse_org_record("null", error));
}

TEST(EffectiveStatus, EachState) {
  KeyRecord k;
  const UnixSeconds now = 1000;
  EXPECT_EQ(effective_status(k, now), EffectiveStatus::active);
  k.status = KeyStatus::inactive;
  EXPECT_EQ(effective_status(k, now), EffectiveStatus::inactive);
  k.status = KeyStatus::revoked;
  EXPECT_EQ(effective_status(k, now), EffectiveStatus::revoked);
}

TEST(EffectiveStatus, ExpiryBoundaryIsInclusive) {
  KeyRecord k;
  k.expires_at = 1000;
  EXPECT_EQ(effective_status(k, 999), EffectiveStatus::active);
  EXPECT_EQ(effective_status(k, 1000), EffectiveStatus::expired);
  EXPECT_EQ(effective_status(k, 1001), EffectiveStatus::expired);
}

TEST(EffectiveStatus, RotationGraceThenRevoked) {
  KeyRecord k;
  k.successor_id = "key_new";
  k.grace_until = 2000;
  EXPECT_EQ(effective_status(k, 1999), EffectiveStatus::active);
  EXPECT_EQ(effective_status(k, 2000), EffectiveStatus::revoked);
}

TEST(EffectiveStatus, Precedence) {
  KeyRecord k;
  k.status = KeyStatus::inactive;
  k.expires_at = 10;
  EXPECT_EQ(effective_status(k, 20), EffectiveStatus::expired);  // expired beats inactive
  k.grace_until = 15;
  EXPECT_EQ(effective_status(k, 20), EffectiveStatus::revoked);  // revoked beats expired
  k.grace_until.reset();
  k.status = KeyStatus::revoked;
  EXPECT_EQ(effective_status(k, 20), EffectiveStatus::revoked);
  EXPECT_EQ(effective_status_name(EffectiveStatus::expired), "expired");
}

}  // namespace
}  // namespace keygate::auth
