#include "auth/key_validator.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "auth/key_format.h"
#include "tests/unit/auth/auth_test_config.h"

namespace keygate::auth {
namespace {

using namespace std::chrono_literals;
using Kind = conf::KeySource::Kind;

// A store that answers inline, or holds the callbacks until release() (a slow Redis).
class FakeLookup : public KeyLookup {
 public:
  void find_by_hash(const std::string& hash, std::function<void(LookupResult)> done) override {
    ++calls;
    if (deferred) {
      pending.emplace_back(hash, std::move(done));
      return;
    }
    done(answer(hash));
  }

  LookupResult answer(const std::string& hash) const {
    if (unavailable) return {LookupStatus::unavailable, nullptr, nullptr};
    const auto it = keys.find(hash);
    if (it == keys.end()) return {LookupStatus::not_found, nullptr, nullptr};
    return {LookupStatus::found, it->second, org};
  }

  void release() {
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& [hash, done] : waiting) done(answer(hash));
  }

  std::map<std::string, std::shared_ptr<const KeyRecord>> keys;
  std::shared_ptr<const OrgRecord> org = std::make_shared<OrgRecord>(OrgRecord{"org_1", "free", 0});
  bool unavailable = false;
  bool deferred = false;
  int calls = 0;
  std::vector<std::pair<std::string, std::function<void(LookupResult)>>> pending;
};

class KeyValidatorTest : public ::testing::Test {
 protected:
  KeyValidatorTest() {
    auto config = std::make_shared<conf::Config>();
    config->keys = testing::test_keys_config();
    config->cache.positive_ttl = 30s;
    config->cache.negative_ttl = 5s;
    config->cache.stale_grace = 300s;
    config->cache.max_entries = 100;
    config->cache.max_negative_entries = 10;
    config_ = config;
    cache_ = std::make_shared<KeyCache>(config->cache);
    hasher_ = std::make_shared<const KeyHasher>(KeyHasher::sha256());
    validator_ = std::make_unique<KeyValidator>(
        config_, cache_, hasher_, store_,
        ValidatorClock{[this] { return steady_; }, [this] { return unix_; }});
    raw_ = generate_key(config->keys.prefixes[0]);  // sk_live_
  }

  std::shared_ptr<KeyRecord> add_key(const std::string& raw) {
    auto k = std::make_shared<KeyRecord>();
    k->id = "key_" + raw.substr(8, 6);
    k->hash = hasher_->hash(raw);
    k->org = "org_1";
    k->environment = "live";
    k->type = "secret";
    k->scopes = {"read"};
    store_.keys[k->hash] = k;
    return k;
  }

  // validate() that must answer inline.
  AuthDecision validate_now(std::string_view raw, Kind source = Kind::bearer) {
    std::optional<AuthDecision> out;
    validator_->validate(raw, source, route_, client_, [&](AuthDecision d) { out = std::move(d); });
    EXPECT_TRUE(out) << "validate did not answer inline";
    return out.value_or(AuthDecision{});
  }

  void advance(std::chrono::seconds by) {
    steady_ += by;
    unix_ += by.count();
  }

  conf::ConfigPtr config_;
  std::shared_ptr<KeyCache> cache_;
  std::shared_ptr<const KeyHasher> hasher_;
  FakeLookup store_;
  std::chrono::steady_clock::time_point steady_ = std::chrono::steady_clock::time_point(1h);
  UnixSeconds unix_ = 1'700'000'000;
  std::unique_ptr<KeyValidator> validator_;
  conf::RouteAuthConfig route_;
  boost::asio::ip::address client_ = boost::asio::ip::make_address("10.0.0.1");
  std::string raw_;
};

TEST_F(KeyValidatorTest, MalformedKeyRejectedWithoutLookup) {
  for (std::string bad : {std::string(""), std::string("sk_live_short"), raw_.substr(1),
                          raw_.substr(0, raw_.size() - 1) + (raw_.back() == 'a' ? 'b' : 'a')}) {
    const auto fast = validator_->try_validate(bad, Kind::bearer, route_, client_);
    ASSERT_TRUE(fast) << bad;
    EXPECT_EQ(fast->code, AuthCode::invalid_api_key);
    EXPECT_EQ(validate_now(bad).code, AuthCode::invalid_api_key);
  }
  EXPECT_EQ(store_.calls, 0);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(KeyValidatorTest, MissThenCachedHit) {
  const auto key = add_key(raw_);
  EXPECT_FALSE(validator_->try_validate(raw_, Kind::bearer, route_, client_));  // needs the store
  const AuthDecision first = validate_now(raw_);
  EXPECT_EQ(first.code, AuthCode::ok);
  ASSERT_TRUE(first.key);
  EXPECT_EQ(first.key->id(), key->id);
  ASSERT_TRUE(first.org());
  EXPECT_EQ(first.org()->plan, "free");
  EXPECT_EQ(store_.calls, 1);

  const auto fast = validator_->try_validate(raw_, Kind::bearer, route_, client_);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->code, AuthCode::ok);
  EXPECT_EQ(fast->key, first.key);  // the very key the store answer made
  EXPECT_EQ(validate_now(raw_).code, AuthCode::ok);
  EXPECT_EQ(store_.calls, 1);
}

TEST_F(KeyValidatorTest, CacheExpiresAfterTtl) {
  add_key(raw_);
  validate_now(raw_);
  advance(31s);
  EXPECT_FALSE(validator_->try_validate(raw_, Kind::bearer, route_, client_));
  validate_now(raw_);
  EXPECT_EQ(store_.calls, 2);
}

TEST_F(KeyValidatorTest, ChecksRunOnCachedKeys) {
  add_key(raw_);
  validate_now(raw_);
  conf::RouteAuthConfig strict;
  strict.scopes_all = {"write"};
  const auto fast = validator_->try_validate(raw_, Kind::bearer, strict, client_);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->code, AuthCode::insufficient_permissions);
  EXPECT_TRUE(fast->key);  // known key: reported for logging and failure counts
  EXPECT_EQ(validate_now(raw_, Kind::query).code, AuthCode::key_type_not_allowed);
}

TEST_F(KeyValidatorTest, ExpiryUsesWallClockEvenWhenCached) {
  auto key = add_key(raw_);
  key->expires_at = unix_ + 10;
  EXPECT_EQ(validate_now(raw_).code, AuthCode::ok);
  advance(10s);
  EXPECT_EQ(validator_->try_validate(raw_, Kind::bearer, route_, client_)->code,
            AuthCode::expired_api_key);
}

TEST_F(KeyValidatorTest, NotFoundIsNegativelyCached) {
  const std::string unknown = generate_key(config_->keys.prefixes[0]);
  EXPECT_EQ(validate_now(unknown).code, AuthCode::invalid_api_key);
  EXPECT_EQ(store_.calls, 1);
  EXPECT_EQ(cache_->negative_size(), 1u);
  const auto fast = validator_->try_validate(unknown, Kind::bearer, route_, client_);
  ASSERT_TRUE(fast);
  EXPECT_EQ(fast->code, AuthCode::invalid_api_key);
  EXPECT_EQ(store_.calls, 1);
  advance(5s);
  EXPECT_FALSE(validator_->try_validate(unknown, Kind::bearer, route_, client_));
}

TEST_F(KeyValidatorTest, StoreDownWithoutCacheIs503) {
  add_key(raw_);
  store_.unavailable = true;
  const AuthDecision d = validate_now(raw_);
  EXPECT_EQ(d.code, AuthCode::store_unavailable);
  EXPECT_EQ(http_status(d.code), 503);
  EXPECT_FALSE(d.key);
  EXPECT_EQ(cache_->size(), 0u);  // an outage is not cached as "no such key"
  EXPECT_EQ(validator_->stats().unavailable, 1u);
}

TEST_F(KeyValidatorTest, StoreDownServesStaleWithinGrace) {
  add_key(raw_);
  validate_now(raw_);
  store_.unavailable = true;
  advance(60s);
  AuthDecision d = validate_now(raw_);
  EXPECT_EQ(d.code, AuthCode::ok);
  EXPECT_TRUE(d.stale);
  EXPECT_EQ(validator_->stats().stale_answers, 1u);
  advance(240s);  // 300 s since validation
  d = validate_now(raw_);
  EXPECT_EQ(d.code, AuthCode::store_unavailable);
}

TEST_F(KeyValidatorTest, StaleKeyStillChecked) {
  auto key = add_key(raw_);
  key->expires_at = unix_ + 100;
  validate_now(raw_);
  store_.unavailable = true;
  advance(120s);
  EXPECT_EQ(validate_now(raw_).code, AuthCode::expired_api_key);
}

TEST_F(KeyValidatorTest, UnknownKeyDuringOutageIs503Not401) {
  store_.unavailable = true;
  EXPECT_EQ(validate_now(generate_key(config_->keys.prefixes[1])).code,
            AuthCode::store_unavailable);
}

TEST_F(KeyValidatorTest, RecordWithWrongHashIsRefused) {
  auto key = add_key(raw_);
  const std::string hash = key->hash;
  key->hash = std::string(64, '0');
  store_.keys[hash] = key;
  EXPECT_EQ(validate_now(raw_).code, AuthCode::invalid_api_key);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(KeyValidatorTest, ConcurrentMissesShareOneLookup) {
  const auto key = add_key(raw_);
  store_.deferred = true;
  std::vector<AuthDecision> decisions;
  conf::RouteAuthConfig strict;
  strict.scopes_all = {"write"};
  for (int i = 0; i < 3; ++i)
    validator_->validate(raw_, Kind::bearer, i == 2 ? strict : route_, client_,
                         [&](AuthDecision d) { decisions.push_back(std::move(d)); });
  EXPECT_EQ(store_.calls, 1);
  EXPECT_TRUE(decisions.empty());
  EXPECT_EQ(validator_->stats().coalesced, 2u);
  store_.release();
  ASSERT_EQ(decisions.size(), 3u);
  EXPECT_EQ(decisions[0].code, AuthCode::ok);
  EXPECT_EQ(decisions[1].code, AuthCode::ok);
  EXPECT_EQ(decisions[2].code, AuthCode::insufficient_permissions);  // each waiter's own route
  ASSERT_TRUE(decisions[0].key);
  EXPECT_EQ(decisions[0].key->id(), key->id);
  EXPECT_EQ(decisions[2].key, decisions[0].key);  // one compact key for all waiters
  // The next request is a cache hit.
  EXPECT_TRUE(validator_->try_validate(raw_, Kind::bearer, route_, client_));
}

TEST_F(KeyValidatorTest, DifferentKeysAreNotCoalesced) {
  add_key(raw_);
  const std::string other = generate_key(config_->keys.prefixes[0]);
  add_key(other);
  store_.deferred = true;
  int answered = 0;
  validator_->validate(raw_, Kind::bearer, route_, client_, [&](AuthDecision) { ++answered; });
  validator_->validate(other, Kind::bearer, route_, client_, [&](AuthDecision) { ++answered; });
  EXPECT_EQ(store_.calls, 2);
  store_.release();
  EXPECT_EQ(answered, 2);
}

TEST_F(KeyValidatorTest, LookupOutlivesValidator) {
  add_key(raw_);
  store_.deferred = true;
  std::optional<AuthDecision> out;
  validator_->validate(raw_, Kind::bearer, route_, client_, [&](AuthDecision d) { out = d; });
  validator_.reset();
  store_.release();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code, AuthCode::ok);
}

TEST_F(KeyValidatorTest, PepperedHasherMustMatchStore) {
  auto peppered = std::make_shared<const KeyHasher>(*KeyHasher::hmac_sha256("pepper"));
  KeyValidator validator(config_, cache_, peppered, store_,
                         ValidatorClock{[this] { return steady_; }, [this] { return unix_; }});
  add_key(raw_);  // stored under the plain SHA-256
  std::optional<AuthDecision> out;
  validator.validate(raw_, Kind::bearer, route_, client_, [&](AuthDecision d) { out = d; });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->code, AuthCode::invalid_api_key);
}

}  // namespace
}  // namespace keygate::auth
