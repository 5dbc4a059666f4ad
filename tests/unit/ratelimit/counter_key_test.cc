#include "ratelimit/counter_key.h"

#include <gtest/gtest.h>

#include "tests/unit/ratelimit/test_util.h"

namespace keygate::ratelimit {
namespace {

using testing::policy;
using testing::subject;

TEST(CounterKey, LayoutUnderThePrefixWithTheOrgAsHashTag) {
  const Subject s = subject("key_abc", "org_1");
  EXPECT_EQ(counter_key("kg:", policy("per-key-minute", Algorithm::sliding_window, 60, 60000), s),
            "kg:rl:{org_1}:per-key-minute:key:key_abc");
  EXPECT_EQ(counter_key("kg:", policy("org", Algorithm::fixed_window, 1, 1, Counter::org), s),
            "kg:rl:{org_1}:org:org:org_1");
  EXPECT_EQ(counter_key("kg:", policy("r", Algorithm::fixed_window, 1, 1, Counter::route), s),
            "kg:rl:{org_1}:r:route:api");
  EXPECT_EQ(counter_key("kg:", policy("ip", Algorithm::fixed_window, 1, 1, Counter::client_ip), s),
            "kg:rl:{org_1}:ip:ip:203.0.113.7");
}

TEST(CounterKey, AllCountersOfARequestShareOneHashTag) {
  const Subject s = subject("key_abc", "org_1");
  for (Counter per : {Counter::key, Counter::org, Counter::route, Counter::client_ip}) {
    const std::string key = counter_key("x:", policy("p", Algorithm::fixed_window, 1, 1, per), s);
    EXPECT_EQ(key.substr(0, 12), "x:rl:{org_1}") << key;
  }
}

TEST(CounterKey, WithoutAnOrgTheKeyIsTheTagAndTheOrgCounter) {
  const Subject s = subject("key_abc", "");
  EXPECT_EQ(hash_tag(s), "key_abc");
  EXPECT_EQ(counter_key("kg:", policy("o", Algorithm::fixed_window, 1, 1, Counter::org), s),
            "kg:rl:{key_abc}:o:key:key_abc");
}

TEST(CounterKey, AnonymousRequestsAreTaggedAndCountedByClientAddress) {
  Subject s = subject("", "");
  s.client_ip = "2001:db8::1";
  EXPECT_EQ(hash_tag(s), "ip:2001%3Adb8%3A%3A1");
  EXPECT_EQ(counter_key("kg:", policy("k", Algorithm::fixed_window, 1, 1, Counter::key), s),
            "kg:rl:{ip:2001%3Adb8%3A%3A1}:k:ip:2001%3Adb8%3A%3A1");
}

TEST(CounterKey, IdentifiersCannotForgeSeparatorsOrHashTags) {
  const Subject s = subject("key_x", "evil}{org:2");
  const std::string key =
      counter_key("kg:", policy("a:b", Algorithm::fixed_window, 1, 1, Counter::org), s);
  EXPECT_EQ(key, "kg:rl:{evil%7D%7Borg%3A2}:a%3Ab:org:evil%7D%7Borg%3A2");
}

TEST(CounterKey, IdentitiesNameTheSameCountersAsKeys) {
  std::vector<Subject> subjects{subject("key_abc", "org_1"),
                                subject("key_abc", ""),
                                subject("org_1", ""),
                                subject("", ""),
                                subject("key_x", "evil}{org:2"),
                                subject("ip:203.0.113.7", "")};
  subjects[3].client_ip = "2001:db8::1";
  std::vector<EffectivePolicy> policies;
  for (Counter per : {Counter::key, Counter::org, Counter::route, Counter::client_ip})
    for (const char* name : {"p", "a:b", "org"})
      policies.push_back(policy(name, Algorithm::fixed_window, 1, 1, per));
  std::vector<std::pair<std::string, std::string>> named;  // counter key, identity
  for (const Subject& s : subjects) {
    for (const EffectivePolicy& p : policies) {
      std::string identity;
      append_counter_identity(identity, p, s);
      named.emplace_back(counter_key("kg:", p, s), identity);
    }
  }
  for (const auto& [key_a, id_a] : named)
    for (const auto& [key_b, id_b] : named) EXPECT_EQ(key_a == key_b, id_a == id_b) << key_a;
}

TEST(MakeSubject, TakesIdentitiesFromTheRecordsAndTheFailureModeFromTheRoute) {
  conf::RouteConfig route;
  route.name = "chat";
  route.limit_failure = conf::LimitFailureMode::local;
  auth::KeyRecord key;
  key.id = "key_1";
  key.org = "org_9";
  auth::OrgRecord org{"org_9", "scale", 1'650'000'000};
  Subject s = make_subject(route, &key, &org, "10.0.0.1");
  EXPECT_EQ(s.key_id, "key_1");
  EXPECT_EQ(s.org_id, "org_9");
  EXPECT_EQ(s.org_created_at, 1'650'000'000);
  EXPECT_EQ(s.route, "chat");
  EXPECT_EQ(s.client_ip, "10.0.0.1");
  EXPECT_EQ(s.on_store_failure, conf::LimitFailureMode::local);

  Subject anonymous = make_subject(route, nullptr, nullptr, "10.0.0.2");
  EXPECT_TRUE(anonymous.key_id.empty());
  EXPECT_TRUE(anonymous.org_id.empty());
  EXPECT_EQ(hash_tag(anonymous), "ip:10.0.0.2");
}

}  // namespace
}  // namespace keygate::ratelimit
