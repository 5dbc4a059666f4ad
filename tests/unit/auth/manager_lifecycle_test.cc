// KeyManager over both stores: the file store and a real redis-server run the same tests.
#include <set>
#include <thread>

#include "auth/key_format.h"
#include "auth/key_manager.h"
#include "auth/key_record_json.h"
#include "tests/unit/auth/store_test_fixtures.h"

namespace keygate::auth {
namespace {

using keygate::testing::RedisServer;
using std::chrono::hours;
using std::chrono::seconds;
using testing::FileBackend;
using testing::kStartTime;
using testing::RedisBackend;
using testing::StoreBackend;
using testing::Subscription;

enum class Backend { file, redis };

class ManagerTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void TearDownTestSuite() {
    delete redis_server_;
    redis_server_ = nullptr;
  }

  void SetUp() override {
    if (GetParam() == Backend::redis) {
      if (redis_server_ == nullptr) redis_server_ = new RedisServer();
      if (!redis_server_->running()) redis_server_->start();
      backend_ = std::make_unique<RedisBackend>(*redis_server_);
    } else {
      backend_ = std::make_unique<FileBackend>();
    }
    manager_ = make_manager();
  }

  std::unique_ptr<KeyManager> make_manager(std::vector<std::string> policies = {}) {
    KeyManagerOptions options;
    options.keys = testing::keys_config_with_plans();
    options.rate_limit_policies = std::move(policies);
    options.clock = [this] { return now_; };
    return std::make_unique<KeyManager>(backend_->open(), hasher_, std::move(options));
  }

  CreateKeyRequest request(const std::string& org = "acme") const {
    CreateKeyRequest r;
    r.org = org;
    r.name = "ci deploy";
    r.environment = "live";
    r.type = "secret";
    r.scopes = {"read:prompts", "write:prompts"};
    r.created_by = "alice@example.com";
    return r;
  }

  CreatedKey create(const CreateKeyRequest& r) {
    KeyResult<CreatedKey> created = manager_->create(r);
    EXPECT_TRUE(created.ok()) << created.message;
    return created.value;
  }
  CreatedKey create(const std::string& org = "acme") { return create(request(org)); }

  std::size_t active(const std::string& org) { return manager_->usage(org).value.active; }

  static RedisServer* redis_server_;
  UnixSeconds now_ = kStartTime;
  std::shared_ptr<const KeyHasher> hasher_ = std::make_shared<const KeyHasher>(KeyHasher::sha256());
  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<KeyManager> manager_;
};

RedisServer* ManagerTest::redis_server_ = nullptr;

TEST_P(ManagerTest, CreateReturnsTheRawKeyAndStoresOnlyItsHash) {
  CreatedKey created = create();
  const KeyRecord& key = created.record;
  auto parsed = parse_key(created.raw_key, testing::keys_config_with_plans());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->prefix, "sk_live_");
  EXPECT_EQ(key.hash, hasher_->hash(created.raw_key));
  EXPECT_EQ(key.prefix, display_prefix(created.raw_key));
  EXPECT_EQ(key.id.size(), 4u + 24u);
  EXPECT_TRUE(key.id.starts_with("key_"));
  EXPECT_EQ(key.org, "acme");
  EXPECT_EQ(key.status, KeyStatus::active);
  EXPECT_EQ(key.created_at, kStartTime);
  EXPECT_EQ(key.created_by, "alice@example.com");
  EXPECT_EQ(key.scopes, (std::vector<std::string>{"read:prompts", "write:prompts"}));

  KeyResult<KeyRecord> stored = manager_->show(key.id);
  ASSERT_TRUE(stored.ok()) << stored.message;
  EXPECT_EQ(to_json(stored.value), to_json(key));

  // The first key created the org, on the default plan, anchored now.
  KeyResult<OrgRecord> org = manager_->get_org("acme");
  ASSERT_TRUE(org.ok()) << org.message;
  EXPECT_EQ(org.value.plan, "free");
  EXPECT_EQ(org.value.created_at, kStartTime);

  // Beyond its 14-character display prefix, nothing of the raw key is in the store.
  const std::string dump = backend_->dump();
  EXPECT_NE(dump.find(key.hash), std::string::npos);
  EXPECT_EQ(dump.find(created.raw_key), std::string::npos);
  EXPECT_EQ(dump.find(created.raw_key.substr(kDisplayPrefixChars)), std::string::npos);
}

TEST_P(ManagerTest, CreateValidatesTheRequest) {
  auto refused = [&](CreateKeyRequest r) { return manager_->create(r).code; };
  CreateKeyRequest r = request();
  r.environment = "prod";
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.type = "superuser";
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.environment = "test";
  r.type = "admin";  // both configured, but no prefix for the pair
  KeyResult<CreatedKey> no_prefix = manager_->create(r);
  EXPECT_EQ(no_prefix.code, KeyErrc::invalid_argument);
  EXPECT_NE(no_prefix.message.find("test/admin"), std::string::npos) << no_prefix.message;
  r = request("acme:evil");
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.name = "";
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.scopes = {"read prompts"};
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.expires_at = kStartTime;
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.allowed_cidrs = {"10.0.0.0/33"};
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r = request();
  r.limit_overrides = {{"per-key", std::nullopt, std::nullopt}};
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);

  manager_ = make_manager({"per-key"});
  r = request();
  r.limit_overrides = {{"nope", 5, std::nullopt}};
  EXPECT_EQ(refused(r), KeyErrc::invalid_argument);
  r.limit_overrides = {{"per-key", 5, std::nullopt}};
  r.allowed_cidrs = {"10.0.0.0/8", "2001:db8::/32"};
  KeyResult<CreatedKey> created = manager_->create(r);
  ASSERT_TRUE(created.ok()) << created.message;
  EXPECT_EQ(created.value.record.allowed_cidrs, r.allowed_cidrs);
  ASSERT_EQ(created.value.record.limit_overrides.size(), 1u);
  // Nothing refused above reached the store: only the last key exists.
  EXPECT_EQ(active("acme"), 1u);
}

TEST_P(ManagerTest, PlanMaximaAreEnforced) {
  const std::pair<std::string, std::size_t> plans[] = {
      {"free", 1}, {"starter", 2}, {"growth", 5}, {"scale", 10}};
  for (const auto& [plan, max_keys] : plans) {
    const std::string org = "org-" + plan;
    ASSERT_TRUE(manager_->create_org(org, plan).ok());
    for (std::size_t i = 0; i < max_keys; ++i) create(org);
    KeyResult<CreatedKey> over = manager_->create(request(org));
    EXPECT_EQ(over.code, KeyErrc::plan_limit_reached) << plan;
    EXPECT_NE(over.message.find(std::to_string(max_keys) + " of the " + std::to_string(max_keys) +
                                " keys its plan \"" + plan + "\""),
              std::string::npos)
        << over.message;
    EXPECT_EQ(active(org), max_keys);
  }
  ASSERT_TRUE(manager_->create_org("big", "enterprise").ok());
  for (int i = 0; i < 12; ++i) create("big");
  EXPECT_EQ(active("big"), 12u);
  EXPECT_FALSE(manager_->usage("big").value.max_keys);
}

TEST_P(ManagerTest, RevokedExpiredAndDeletedKeysFreeTheirSlotInactiveOnesDoNot) {
  CreatedKey first = create();  // free plan: one slot
  ASSERT_TRUE(manager_->deactivate(first.record.id).ok());
  EXPECT_EQ(manager_->create(request()).code, KeyErrc::plan_limit_reached);
  ASSERT_TRUE(manager_->revoke(first.record.id).ok());
  CreatedKey second = create();
  ASSERT_TRUE(manager_->expire(second.record.id, kStartTime + 60).ok());
  now_ += 61;
  CreatedKey third = create();
  ASSERT_TRUE(manager_->remove(third.record.id).ok());
  create();
  EXPECT_EQ(active("acme"), 1u);
}

TEST_P(ManagerTest, RevokeIsASoftDeleteAndFinal) {
  CreatedKey created = create();
  now_ += 10;
  KeyResult<KeyChange> revoked = manager_->revoke(created.record.id);
  ASSERT_TRUE(revoked.ok()) << revoked.message;
  EXPECT_TRUE(revoked.value.changed);
  KeyRecord stored = manager_->show(created.record.id).value;
  EXPECT_EQ(stored.status, KeyStatus::revoked);
  EXPECT_EQ(stored.revoked_at, kStartTime + 10);
  EXPECT_EQ(effective_status(stored, now_), EffectiveStatus::revoked);

  now_ += 10;
  KeyResult<KeyChange> again = manager_->revoke(created.record.id);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.value.changed);
  EXPECT_EQ(manager_->show(created.record.id).value.revoked_at, kStartTime + 10);
  EXPECT_EQ(manager_->activate(created.record.id).code, KeyErrc::invalid_state);
  EXPECT_EQ(manager_->deactivate(created.record.id).code, KeyErrc::invalid_state);
  EXPECT_EQ(manager_->rotate(created.record.id, hours(1)).code, KeyErrc::invalid_state);
  EXPECT_EQ(manager_->list("acme").value.size(), 1u);  // kept for audit
}

TEST_P(ManagerTest, DeactivateAndActivateAreReversible) {
  CreatedKey created = create();
  KeyResult<KeyChange> off = manager_->deactivate(created.record.id);
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off.value.changed);
  EXPECT_EQ(effective_status(manager_->show(created.record.id).value, now_),
            EffectiveStatus::inactive);
  EXPECT_FALSE(manager_->deactivate(created.record.id).value.changed);
  KeyResult<KeyChange> on = manager_->activate(created.record.id);
  ASSERT_TRUE(on.ok());
  EXPECT_TRUE(on.value.changed);
  EXPECT_EQ(manager_->show(created.record.id).value.status, KeyStatus::active);
  EXPECT_FALSE(manager_->activate(created.record.id).value.changed);
}

TEST_P(ManagerTest, RotationKeepsSettingsAndGivesTheOldKeyAGracePeriod) {
  CreateKeyRequest r = request();
  r.allowed_cidrs = {"10.0.0.0/8"};
  r.limit_overrides = {{"per-key", 100, 60000}};
  r.expires_at = kStartTime + 90 * 86400;
  CreatedKey old_key = create(r);  // free plan: the org is full now
  now_ += 1000;

  KeyResult<RotatedKey> rotated = manager_->rotate(old_key.record.id, hours(24), "bob");
  ASSERT_TRUE(rotated.ok()) << rotated.message;
  const KeyRecord& next = rotated.value.new_key.record;
  EXPECT_NE(next.id, old_key.record.id);
  EXPECT_NE(rotated.value.new_key.raw_key, old_key.raw_key);
  EXPECT_EQ(next.hash, hasher_->hash(rotated.value.new_key.raw_key));
  EXPECT_EQ(next.org, "acme");
  EXPECT_EQ(next.name, r.name);
  EXPECT_EQ(next.environment, "live");
  EXPECT_EQ(next.type, "secret");
  EXPECT_EQ(next.scopes, r.scopes);
  EXPECT_EQ(next.allowed_cidrs, r.allowed_cidrs);
  EXPECT_EQ(to_json(next)["limit_overrides"], to_json(old_key.record)["limit_overrides"]);
  EXPECT_EQ(next.created_by, "bob");
  EXPECT_EQ(next.created_at, now_);
  // Issue 10: the successor used to get the old lifetime from now (expires_at moved by the
  // 1000 s since creation). Rotating must not extend a credential: the end date stays.
  EXPECT_EQ(next.expires_at, kStartTime + 90 * 86400);
  EXPECT_TRUE(next.successor_id.empty());

  KeyRecord old_stored = manager_->show(old_key.record.id).value;
  EXPECT_EQ(old_stored.successor_id, next.id);
  EXPECT_EQ(old_stored.grace_until, now_ + 86400);
  EXPECT_EQ(old_stored.status, KeyStatus::active);
  EXPECT_EQ(effective_status(old_stored, now_ + 86399), EffectiveStatus::active);
  EXPECT_EQ(effective_status(old_stored, now_ + 86400), EffectiveStatus::revoked);

  // The pair holds one slot: the free org is still "1 of 1", and full.
  EXPECT_EQ(active("acme"), 1u);
  EXPECT_EQ(manager_->create(request()).code, KeyErrc::plan_limit_reached);
  // A key is rotated once; its successor can be rotated in turn.
  EXPECT_EQ(manager_->rotate(old_key.record.id, hours(24)).code, KeyErrc::invalid_state);
  KeyResult<RotatedKey> again = manager_->rotate(next.id, seconds(0));
  ASSERT_TRUE(again.ok()) << again.message;
  EXPECT_EQ(again.value.new_key.record.created_by, "bob");  // kept when not given

  const std::string dump = backend_->dump();
  for (const std::string& raw :
       {old_key.raw_key, rotated.value.new_key.raw_key, again.value.new_key.raw_key})
    EXPECT_EQ(dump.find(raw.substr(kDisplayPrefixChars)), std::string::npos);
}

TEST_P(ManagerTest, RotationReplacesTheExpiryOnlyWhenAskedTo) {
  CreateKeyRequest r = request();
  r.expires_at = kStartTime + 3600;
  const std::string first = create(r).record.id;
  now_ += 60;
  KeyResult<RotatedKey> moved = manager_->rotate(first, hours(1), {}, {true, kStartTime + 7200});
  ASSERT_TRUE(moved.ok()) << moved.message;
  EXPECT_EQ(moved.value.new_key.record.expires_at, kStartTime + 7200);
  KeyResult<RotatedKey> cleared =
      manager_->rotate(moved.value.new_key.record.id, hours(1), {}, {true, std::nullopt});
  ASSERT_TRUE(cleared.ok()) << cleared.message;
  EXPECT_FALSE(cleared.value.new_key.record.expires_at);
  KeyResult<RotatedKey> past =
      manager_->rotate(cleared.value.new_key.record.id, hours(1), {}, {true, now_ - 1});
  EXPECT_EQ(past.code, KeyErrc::invalid_argument);
}

// Issue 10: without keys.plans every org was silently on a "free" plan of one key.
TEST_P(ManagerTest, WithoutPlansThereIsNoKeyMaximum) {
  KeyManagerOptions options;
  options.keys = testing::keys_config_with_plans();
  options.keys.plans.clear();
  options.keys.default_plan.clear();
  options.clock = [this] { return now_; };
  manager_ = std::make_unique<KeyManager>(backend_->open(), hasher_, std::move(options));
  for (int i = 0; i < 3; ++i) create();
  KeyResult<KeyManager::Usage> usage = manager_->usage("acme");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage.value.active, 3u);
  EXPECT_FALSE(usage.value.max_keys);
  EXPECT_EQ(manager_->get_org("acme").value.plan, "");
  EXPECT_EQ(manager_->create_org("beta", "free").code, KeyErrc::invalid_argument);
  EXPECT_TRUE(manager_->create_org("beta", "").ok());
  EXPECT_EQ(manager_->set_plan("acme", "free").code, KeyErrc::invalid_argument);
}

TEST_P(ManagerTest, RotationWithoutGraceRevokesAtOnce) {
  CreatedKey old_key = create();
  KeyResult<RotatedKey> rotated = manager_->rotate(old_key.record.id, seconds(0));
  ASSERT_TRUE(rotated.ok()) << rotated.message;
  KeyRecord old_stored = manager_->show(old_key.record.id).value;
  EXPECT_EQ(old_stored.status, KeyStatus::revoked);
  EXPECT_EQ(old_stored.revoked_at, kStartTime);
  EXPECT_FALSE(old_stored.grace_until);
  EXPECT_EQ(old_stored.successor_id, rotated.value.new_key.record.id);
  EXPECT_FALSE(rotated.value.new_key.record.expires_at);
  EXPECT_EQ(manager_->rotate(old_key.record.id, seconds(-1)).code, KeyErrc::invalid_argument);
}

TEST_P(ManagerTest, DeleteRemovesTheRecordAndItsIndexes) {
  CreatedKey created = create();
  KeyResult<KeyRecord> deleted = manager_->remove(created.record.id);
  ASSERT_TRUE(deleted.ok()) << deleted.message;
  EXPECT_EQ(deleted.value.id, created.record.id);
  EXPECT_EQ(manager_->show(created.record.id).code, KeyErrc::not_found);
  EXPECT_EQ(manager_->remove(created.record.id).code, KeyErrc::not_found);
  EXPECT_TRUE(manager_->list("acme").value.empty());
  const std::string dump = backend_->dump();
  EXPECT_EQ(dump.find(created.record.id), std::string::npos);
  EXPECT_EQ(dump.find(created.record.hash), std::string::npos);
}

TEST_P(ManagerTest, ExpireSetsMovesAndClearsTheExpiry) {
  CreatedKey created = create();
  const std::string id = created.record.id;
  KeyResult<KeyChange> set = manager_->expire(id, kStartTime + 3600);
  ASSERT_TRUE(set.ok()) << set.message;
  EXPECT_EQ(manager_->show(id).value.expires_at, kStartTime + 3600);
  EXPECT_FALSE(manager_->expire(id, kStartTime + 3600).value.changed);
  ASSERT_TRUE(manager_->expire(id, std::nullopt).ok());
  EXPECT_FALSE(manager_->show(id).value.expires_at);
  ASSERT_TRUE(manager_->expire(id, kStartTime - 1).ok());  // in the past: dead now
  EXPECT_EQ(effective_status(manager_->show(id).value, now_), EffectiveStatus::expired);

  // Bringing it back needs a free slot again.
  create();
  KeyResult<KeyChange> revive = manager_->expire(id, std::nullopt);
  EXPECT_EQ(revive.code, KeyErrc::plan_limit_reached) << revive.message;
  ASSERT_TRUE(manager_->revoke(id).ok());
  EXPECT_EQ(manager_->expire(id, kStartTime + 10).code, KeyErrc::invalid_state);
}

TEST_P(ManagerTest, RenameAndSetScopes) {
  CreatedKey created = create();
  ASSERT_TRUE(manager_->rename(created.record.id, "renamed").value.changed);
  EXPECT_EQ(manager_->show(created.record.id).value.name, "renamed");
  EXPECT_EQ(manager_->rename(created.record.id, "").code, KeyErrc::invalid_argument);
  KeyResult<KeyChange> scoped = manager_->set_scopes(created.record.id, {"a", "b", "a"});
  ASSERT_TRUE(scoped.ok());
  EXPECT_EQ(scoped.value.record.scopes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(manager_->show(created.record.id).value.scopes, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(manager_->set_scopes(created.record.id, {}).value.record.scopes.empty());
  EXPECT_EQ(manager_->set_scopes(created.record.id, {"a,b"}).code, KeyErrc::invalid_argument);
}

TEST_P(ManagerTest, KeysAreNamedByIdPrefixOrRawKey) {
  ASSERT_TRUE(manager_->create_org("acme", "growth").ok());
  CreatedKey a = create();
  CreatedKey b = create();
  EXPECT_EQ(manager_->show(a.record.id).value.id, a.record.id);
  EXPECT_EQ(manager_->show(a.record.prefix).value.id, a.record.id);
  EXPECT_EQ(manager_->show(a.record.prefix + "...").value.id, a.record.id);
  EXPECT_EQ(manager_->show(a.raw_key).value.id, a.record.id);
  EXPECT_EQ(manager_->show(b.raw_key).value.id, b.record.id);
  KeyResult<KeyRecord> ambiguous = manager_->show("sk_live_");
  EXPECT_EQ(ambiguous.code, KeyErrc::invalid_argument);
  EXPECT_NE(ambiguous.message.find("matches 2 keys"), std::string::npos) << ambiguous.message;
  EXPECT_EQ(manager_->show("sk_").code, KeyErrc::invalid_argument);
  EXPECT_EQ(manager_->show("pk_live_zzzzzz").code, KeyErrc::not_found);
  EXPECT_EQ(manager_->show("key_000000000000000000000000").code, KeyErrc::not_found);
  ASSERT_TRUE(manager_->revoke(a.record.prefix).ok());
  EXPECT_EQ(manager_->show(a.record.id).value.status, KeyStatus::revoked);
}

TEST_P(ManagerTest, OrgsAreCreatedListedAndMovedBetweenPlans) {
  KeyResult<OrgRecord> org = manager_->create_org("acme", "starter");
  ASSERT_TRUE(org.ok()) << org.message;
  EXPECT_EQ(org.value.created_at, kStartTime);
  EXPECT_EQ(manager_->create_org("acme", "growth").code, KeyErrc::invalid_state);
  EXPECT_EQ(manager_->create_org("other", "platinum").code, KeyErrc::invalid_argument);
  EXPECT_EQ(manager_->create_org("bad id", "").code, KeyErrc::invalid_argument);
  ASSERT_TRUE(manager_->create_org("beta", "").ok());
  EXPECT_EQ(manager_->get_org("beta").value.plan, "free");
  std::vector<std::string> ids;
  for (const OrgRecord& record : manager_->list_orgs().value) ids.push_back(record.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"acme", "beta"}));

  create();
  create();
  EXPECT_EQ(manager_->create(request()).code, KeyErrc::plan_limit_reached);
  ASSERT_TRUE(manager_->set_plan("acme", "growth").ok());
  create();
  EXPECT_EQ(manager_->set_plan("nobody", "growth").code, KeyErrc::not_found);
  EXPECT_EQ(manager_->list("nobody").code, KeyErrc::not_found);
}

// Several CLI invocations racing for the last slot: exactly one wins.
TEST_P(ManagerTest, ConcurrentCreatesCannotOverfillAPlan) {
  ASSERT_TRUE(manager_->create_org("acme", "starter").ok());
  create();  // one of two slots left
  constexpr int kRacers = 4;
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::vector<std::unique_ptr<KeyManager>> managers;
  for (int i = 0; i < kRacers; ++i) managers.push_back(make_manager());
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      KeyResult<CreatedKey> result = managers[i]->create(request());
      if (result.ok()) ++created;
      if (result.code == KeyErrc::plan_limit_reached) ++refused;
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), kRacers - 1);
  EXPECT_EQ(active("acme"), 2u);
}

TEST_P(ManagerTest, EveryStateChangeInvalidatesTheKeysHash) {
  if (!backend_->publishes()) GTEST_SKIP() << "the file store's proxies reload on file change";
  Subscription subscription(redis_server_->port(), "kg:invalidate");
  ASSERT_TRUE(manager_->create_org("acme", "growth").ok());
  CreatedKey created = create();
  const std::string id = created.record.id;
  const std::string hash = created.record.hash;
  EXPECT_EQ(subscription.next(), hash);  // a new key: any negative cache entry goes

  ASSERT_TRUE(manager_->deactivate(id).ok());
  EXPECT_EQ(subscription.next(), hash);
  ASSERT_TRUE(manager_->activate(id).ok());
  EXPECT_EQ(subscription.next(), hash);
  ASSERT_TRUE(manager_->rename(id, "x").ok());
  EXPECT_EQ(subscription.next(), hash);
  ASSERT_TRUE(manager_->set_scopes(id, {"a"}).ok());
  EXPECT_EQ(subscription.next(), hash);
  ASSERT_TRUE(manager_->expire(id, kStartTime + 100).ok());
  EXPECT_EQ(subscription.next(), hash);
  KeyResult<RotatedKey> rotated = manager_->rotate(id, hours(1));
  ASSERT_TRUE(rotated.ok());
  std::set<std::string> rotation{subscription.next(), subscription.next()};
  EXPECT_EQ(rotation, (std::set<std::string>{hash, rotated.value.new_key.record.hash}));
  ASSERT_TRUE(manager_->revoke(id).ok());
  EXPECT_EQ(subscription.next(), hash);
  ASSERT_TRUE(manager_->remove(id).ok());
  EXPECT_EQ(subscription.next(), hash);
  // The channel carries hashes, never raw keys.
  ASSERT_TRUE(manager_->revoke(rotated.value.new_key.record.id).ok());
  const std::string payload = subscription.next();
  EXPECT_EQ(payload, rotated.value.new_key.record.hash);
  EXPECT_EQ(payload.find(rotated.value.new_key.raw_key.substr(kDisplayPrefixChars)),
            std::string::npos);
}

TEST_P(ManagerTest, StoreOutageIsReportedAsUnavailable) {
  if (GetParam() == Backend::redis) {
    redis_server_->stop();
  } else {
    std::filesystem::create_directory(static_cast<FileBackend&>(*backend_).path());  // a dir
  }
  KeyResult<CreatedKey> created = manager_->create(request());
  EXPECT_EQ(created.code, KeyErrc::store_unavailable) << created.message;
  EXPECT_EQ(manager_->list_orgs().code, KeyErrc::store_unavailable);
  if (GetParam() == Backend::redis) redis_server_->start();
}

INSTANTIATE_TEST_SUITE_P(Manager, ManagerTest, ::testing::Values(Backend::file, Backend::redis),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::file ? "File" : "Redis";
                         });

}  // namespace
}  // namespace keygate::auth
