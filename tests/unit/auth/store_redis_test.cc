// RedisKeyRepository and RedisKeyLookup against a real redis-server.
#include <boost/asio/io_context.hpp>
#include <optional>
#include <set>
#include <thread>

#include "auth/key_record_json.h"
#include "auth/redis_key_lookup.h"
#include "auth/redis_key_repository.h"
#include "redis/redis_client.h"
#include "tests/unit/auth/store_test_fixtures.h"

namespace keygate::auth {
namespace {

using keygate::testing::RedisServer;
using testing::kStartTime;
using testing::RedisBackend;
using testing::Subscription;

KeyRecord make_key(const std::string& id, const std::string& org, const std::string& hash) {
  KeyRecord key;
  key.id = id;
  key.hash = hash;
  key.prefix = "sk_live_abcdef";
  key.name = "key " + id;
  key.org = org;
  key.environment = "live";
  key.type = "secret";
  key.scopes = {"read"};
  key.created_at = kStartTime;
  return key;
}

std::string hash_of(char c) {
  return std::string(64, c);
}

// Runs `io` until `done()` holds (at most 10 s).
template <class Done>
bool run_until(boost::asio::io_context& io, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(2));
  }
  return true;
}

class StoreRedisTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_->running()) server_->start();
    backend_.emplace(*server_);
    repository_ = backend_->open();
  }

  std::shared_ptr<redis::Client> connect_async() {
    auto client = redis::make_client(io_.get_executor(), backend_->config());
    client->start();
    EXPECT_TRUE(run_until(io_, [&] { return client->connected(); }));
    return client;
  }

  LookupResult lookup(RedisKeyLookup& lookup, const std::string& hash) {
    std::optional<LookupResult> result;
    lookup.find_by_hash(hash, [&](LookupResult r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "remote lookups answer later, not inline";
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    return result.value_or(LookupResult{});
  }

  static RedisServer* server_;
  std::optional<RedisBackend> backend_;
  std::shared_ptr<KeyRepository> repository_;
  boost::asio::io_context io_;
};

RedisServer* StoreRedisTest::server_ = nullptr;

TEST_F(StoreRedisTest, RoundTripAndDocumentedLayout) {
  KeyRecord key = make_key("key_1", "acme", hash_of('a'));
  key.expires_at = kStartTime + 100;
  key.limit_overrides = {{"per-key", 10, std::nullopt}};
  ASSERT_TRUE(repository_->put_org({"acme", "growth", kStartTime}).ok());
  ASSERT_TRUE(repository_->put_key(key).ok());

  auto by_id = repository_->get_key("key_1");
  ASSERT_TRUE(by_id.ok()) << by_id.status.message;
  EXPECT_EQ(to_json(by_id.value), to_json(key));
  auto by_hash = repository_->get_key_by_hash(hash_of('a'));
  ASSERT_TRUE(by_hash.ok());
  EXPECT_EQ(by_hash.value.id, "key_1");
  auto org = repository_->read_org("acme");
  ASSERT_TRUE(org.ok());
  ASSERT_TRUE(org.value.org);
  EXPECT_EQ(org.value.org->plan, "growth");
  ASSERT_EQ(org.value.keys.size(), 1u);
  auto orgs = repository_->list_orgs();
  ASSERT_TRUE(orgs.ok());
  ASSERT_EQ(orgs.value.size(), 1u);
  EXPECT_EQ(orgs.value[0].id, "acme");

  // docs/redis-schema.md
  EXPECT_EQ(server_->command({"GET", "kg:key:" + hash_of('a')}).str,
            key_record_to_json_string(key));
  EXPECT_EQ(server_->command({"GET", "kg:keyid:key_1"}).str, hash_of('a'));
  EXPECT_EQ(server_->command({"GET", "kg:org:acme"}).str,
            org_record_to_json_string({"acme", "growth", kStartTime}));
  EXPECT_EQ(server_->command({"SISMEMBER", "kg:org:acme:keys", "key_1"}).integer, 1);
  EXPECT_EQ(server_->command({"SISMEMBER", "kg:orgs", "acme"}).integer, 1);
  EXPECT_EQ(server_->command({"GET", "kg:org:acme:rev"}).str, "2");

  ASSERT_TRUE(repository_->delete_key("key_1").ok());
  EXPECT_EQ(server_->command({"EXISTS", "kg:key:" + hash_of('a'), "kg:keyid:key_1"}).integer, 0);
  EXPECT_EQ(server_->command({"SCARD", "kg:org:acme:keys"}).integer, 0);
  EXPECT_EQ(repository_->get_key("key_1").status.code, StoreErrc::not_found);
}

TEST_F(StoreRedisTest, KeysComeBackInCreationOrder) {
  for (int i = 0; i < 5; ++i) {
    KeyRecord key = make_key("key_" + std::to_string(i), "acme", hash_of('a' + i));
    key.created_at = kStartTime + 10 - i;  // newest first
    ASSERT_TRUE(repository_->put_key(key).ok());
  }
  auto keys = repository_->list_keys("acme");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value.size(), 5u);
  EXPECT_EQ(keys.value.front().id, "key_4");
  EXPECT_EQ(keys.value.back().id, "key_0");
}

TEST_F(StoreRedisTest, ConflictsAreRefusedAtomically) {
  ASSERT_TRUE(repository_->put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  EXPECT_EQ(repository_->put_key(make_key("key_1", "acme", hash_of('b'))).code,
            StoreErrc::conflict);
  // Checked inside the commit script: the other org's view does not show these keys.
  StoreStatus other_hash = repository_->put_key(make_key("key_2", "other", hash_of('a')));
  EXPECT_EQ(other_hash.code, StoreErrc::conflict) << other_hash.message;
  StoreStatus other_id = repository_->put_key(make_key("key_1", "other", hash_of('c')));
  EXPECT_EQ(other_id.code, StoreErrc::conflict) << other_id.message;
  EXPECT_EQ(server_->command({"EXISTS", "kg:org:other:keys"}).integer, 0);
  EXPECT_EQ(server_->command({"EXISTS", "kg:key:" + hash_of('c')}).integer, 0);
}

TEST_F(StoreRedisTest, ConcurrentWritersLoseNoUpdate) {
  constexpr int kWriters = 4;
  constexpr int kKeysEach = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::shared_ptr<KeyRepository> repository = backend_->open();  // own connection
      for (int i = 0; i < kKeysEach; ++i) {
        char hash[65];
        std::snprintf(hash, sizeof hash, "%064d", w * 1000 + i);
        const std::string id = "key_" + std::to_string(w) + "_" + std::to_string(i);
        // A read-modify-write that depends on what it read: the key count it saw.
        StoreStatus status =
            repository->transact("acme", [&](const OrgKeys& current, OrgChanges& changes) {
              changes = {};
              KeyRecord key = make_key(id, "acme", hash);
              key.name = "seen " + std::to_string(current.keys.size());
              changes.put_keys.push_back(key);
              return true;
            });
        if (!status.ok()) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  auto keys = repository_->list_keys("acme");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value.size(), static_cast<std::size_t>(kWriters * kKeysEach));
  // Every transaction saw a different count: none ran on a stale read.
  std::set<std::string> names;
  for (const KeyRecord& key : keys.value) names.insert(key.name);
  EXPECT_EQ(names.size(), keys.value.size());
}

TEST_F(StoreRedisTest, EveryWritePublishesTheChangedHashes) {
  Subscription subscription(server_->port(), "kg:invalidate");
  ASSERT_TRUE(repository_->put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  EXPECT_EQ(subscription.next(), hash_of('a'));
  ASSERT_TRUE(repository_->delete_key("key_1").ok());
  EXPECT_EQ(subscription.next(), hash_of('a'));
  ASSERT_TRUE(repository_->publish_invalidation(hash_of('z')).ok());
  EXPECT_EQ(subscription.next(), hash_of('z'));
}

TEST_F(StoreRedisTest, CorruptRecordsAreReportedWithTheirKeyName) {
  server_->command({"SET", "kg:keyid:key_1", hash_of('a')});
  server_->command({"SET", "kg:key:" + hash_of('a'), "{not json"});
  auto read = repository_->get_key("key_1");
  EXPECT_EQ(read.status.code, StoreErrc::corrupt);
  EXPECT_NE(read.status.message.find("kg:key:" + hash_of('a')), std::string::npos)
      << read.status.message;
}

TEST_F(StoreRedisTest, UnreachableServerIsUnavailable) {
  server_->stop();
  auto read = repository_->get_key("key_1");
  EXPECT_EQ(read.status.code, StoreErrc::unavailable);
  EXPECT_NE(read.status.message.find("127.0.0.1:" + std::to_string(server_->port())),
            std::string::npos)
      << read.status.message;
  EXPECT_EQ(repository_->put_org({"acme", "free", 1}).code, StoreErrc::unavailable);
  server_->start();
}

TEST_F(StoreRedisTest, LookupReturnsKeyAndOrgInOneRoundTrip) {
  ASSERT_TRUE(repository_->put_org({"acme", "scale", kStartTime}).ok());
  ASSERT_TRUE(repository_->put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  auto client = connect_async();
  RedisKeyLookup lookup_store(client, backend_->config());
  lookup_store.preload();
  ASSERT_TRUE(run_until(io_, [&] { return client->stats().pending == 0; }));

  const auto before = client->stats().commands;
  LookupResult found = lookup(lookup_store, hash_of('a'));
  EXPECT_EQ(client->stats().commands - before, 1u);
  ASSERT_EQ(found.status, LookupStatus::found);
  EXPECT_EQ(found.key->id, "key_1");
  ASSERT_NE(found.org, nullptr);
  EXPECT_EQ(found.org->plan, "scale");

  EXPECT_EQ(lookup(lookup_store, hash_of('b')).status, LookupStatus::not_found);
  client->stop();
}

TEST_F(StoreRedisTest, LookupWithoutOrgRecordHasNullOrg) {
  ASSERT_TRUE(repository_->put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  auto client = connect_async();
  RedisKeyLookup lookup_store(client, backend_->config());
  LookupResult found = lookup(lookup_store, hash_of('a'));
  ASSERT_EQ(found.status, LookupStatus::found);
  EXPECT_EQ(found.org, nullptr);
  client->stop();
}

TEST_F(StoreRedisTest, LookupSurvivesScriptFlush) {
  ASSERT_TRUE(repository_->put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  auto client = connect_async();
  RedisKeyLookup lookup_store(client, backend_->config());
  EXPECT_EQ(lookup(lookup_store, hash_of('a')).status, LookupStatus::found);
  server_->command({"SCRIPT", "FLUSH"});
  EXPECT_EQ(lookup(lookup_store, hash_of('a')).status, LookupStatus::found);
  client->stop();
}

TEST_F(StoreRedisTest, CorruptOrMisplacedRecordIsUnavailableNotNotFound) {
  server_->command({"SET", "kg:key:" + hash_of('a'), "{not json"});
  // A well-formed record stored under the wrong hash must not authenticate either.
  server_->command({"SET", "kg:key:" + hash_of('b'),
                    key_record_to_json_string(make_key("key_1", "acme", hash_of('c')))});
  auto client = connect_async();
  RedisKeyLookup lookup_store(client, backend_->config());
  EXPECT_EQ(lookup(lookup_store, hash_of('a')).status, LookupStatus::unavailable);
  EXPECT_EQ(lookup(lookup_store, hash_of('b')).status, LookupStatus::unavailable);
  client->stop();
}

TEST_F(StoreRedisTest, LookupDuringOutageIsUnavailable) {
  auto client = connect_async();
  RedisKeyLookup lookup_store(client, backend_->config());
  server_->kill();
  ASSERT_TRUE(run_until(io_, [&] { return !client->connected(); }));
  EXPECT_EQ(lookup(lookup_store, hash_of('a')).status, LookupStatus::unavailable);
  client->stop();
  server_->start();
}

TEST(StoreRedisReplyTest, RepliesMapToLookupResults) {
  redis::Reply nil;
  EXPECT_EQ(lookup_result_from_reply(nil, "h").status, LookupStatus::not_found);
  redis::Reply wrong;
  wrong.type = redis::Reply::Type::integer;
  EXPECT_EQ(lookup_result_from_reply(wrong, "h").status, LookupStatus::unavailable);
  redis::Reply found;
  found.type = redis::Reply::Type::array;
  found.elements.resize(2);
  found.elements[0].type = redis::Reply::Type::string;
  found.elements[0].str = key_record_to_json_string(make_key("key_1", "acme", "h"));
  found.elements[1].type = redis::Reply::Type::string;
  found.elements[1].str = "{\"id\":\"acme\",\"plan\":\"free\"}";
  LookupResult result = lookup_result_from_reply(found, "h");
  ASSERT_EQ(result.status, LookupStatus::found);
  EXPECT_EQ(result.org->plan, "free");
  found.elements[1].str = "[]";  // an org that does not parse is store trouble too
  EXPECT_EQ(lookup_result_from_reply(found, "h").status, LookupStatus::unavailable);
}

}  // namespace
}  // namespace keygate::auth
