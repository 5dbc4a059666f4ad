// The two usage stores against the same expectations: the usage document beside a key file,
// and a real redis-server. Counters add up, a batch id is applied once, last uses reach the key
// records (and never move back), and the record stays readable by the key repository.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "auth/key_record_json.h"
#include "auth/redis_key_schema.h"
#include "auth/usage_file_store.h"
#include "auth/usage_redis_store.h"
#include "tests/unit/auth/store_test_fixtures.h"

namespace keygate::auth {
namespace {

using testing::kStartTime;

KeyRecord make_key(const std::string& id, const std::string& org) {
  KeyRecord key;
  key.id = id;
  // A distinct hash per id: hex of the id's characters, padded.
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : id) {
    key.hash += kHex[c >> 4];
    key.hash += kHex[c & 0xf];
  }
  key.hash.resize(64, '0');
  key.prefix = "sk_live_abcdef";
  key.name = "svc " + id;
  key.org = org;
  key.environment = "live";
  key.type = "secret";
  key.created_at = kStartTime;
  return key;
}

UsageBatch batch(const std::string& id, std::uint64_t total, std::optional<LastUse> use = {}) {
  UsageBatch b;
  b.id = id;
  KeyDelta& delta = b.keys["key_a"];
  delta.org = "acme";
  for (std::uint64_t i = 0; i < total; ++i) delta.counts.add(i % 3 == 0 ? 200 : 404);
  delta.last_use = std::move(use);
  b.org_calls["acme"][kStartTime] = total;
  return b;
}

// What both stores must do; the fixture supplies the store and the record repository.
class UsageStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // One server for the whole suite; each test starts from an empty database.
    static keygate::testing::RedisServer* server = new keygate::testing::RedisServer();
    if (GetParam() == "redis") {
      server->command({"FLUSHALL"});
      backend_ = std::make_unique<testing::RedisBackend>(*server);
      store_ = std::make_unique<RedisUsageStore>(testing::redis_config(server->port()));
      records_ = backend_->open();
    } else if (GetParam() == "file_and_redis") {
      // Records in a key file, counters in Redis (a store.redis block beside a file store).
      server->command({"FLUSHALL"});
      auto file = std::make_unique<testing::FileBackend>();
      records_ = file->open();
      store_ = std::make_unique<RedisUsageStore>(testing::redis_config(server->port()), records_);
      backend_ = std::move(file);
    } else {
      auto file = std::make_unique<testing::FileBackend>();
      records_ = file->open();
      store_ = std::make_unique<FileUsageStore>(usage_file_path(file->path()), records_,
                                                [] { return kStartTime; });
      backend_ = std::move(file);
    }
    ASSERT_TRUE(records_->put_org({"acme", "growth", kStartTime}).ok());
    ASSERT_TRUE(records_->put_key(make_key("key_a", "acme")).ok());
  }

  KeyRecord record(const std::string& id) { return records_->get_key(id).value; }

  std::unique_ptr<testing::StoreBackend> backend_;
  std::shared_ptr<KeyRepository> records_;
  std::unique_ptr<UsageStore> store_;
};

TEST_P(UsageStoreContract, CountersAddUpAndABatchIsAppliedOnce) {
  ASSERT_TRUE(store_->apply(batch("b-1", 3)).ok());
  ASSERT_TRUE(store_->apply(batch("b-2", 4)).ok());
  ASSERT_TRUE(store_->apply(batch("b-2", 4)).ok()) << "a retry of an applied batch";
  StoreResult<KeyUsage> usage = store_->key_usage(record("key_a"));
  ASSERT_TRUE(usage.ok()) << usage.status.message;
  EXPECT_EQ(usage.value.counts.total, 7u);
  EXPECT_EQ(usage.value.counts.status_2xx, 3u);  // i = 0 of each batch, and i = 3 of b-2
  EXPECT_EQ(usage.value.counts.status_4xx, 4u);
  EXPECT_EQ(store_->org_calls("acme", kStartTime).value, 7u);
  EXPECT_EQ(store_->org_calls("acme", kStartTime + kUsagePeriodSeconds).value, 0u);
  EXPECT_EQ(store_->org_calls("nobody", kStartTime).value, 0u);
}

TEST_P(UsageStoreContract, UnknownKeyReadsAsZero) {
  StoreResult<KeyUsage> usage = store_->key_usage(make_key("key_z", "acme"));
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage.value.counts.total, 0u);
  EXPECT_FALSE(usage.value.last_used_at);
  EXPECT_EQ(usage.value.last_client_ip, "");
}

TEST_P(UsageStoreContract, LastUseReachesTheRecordAndNeverMovesBack) {
  ASSERT_TRUE(store_->apply(batch("b-1", 1, LastUse{kStartTime + 100, "10.1.2.3"})).ok());
  EXPECT_EQ(record("key_a").last_used_at, kStartTime + 100);
  StoreResult<KeyUsage> usage = store_->key_usage(record("key_a"));
  EXPECT_EQ(usage.value.last_used_at, kStartTime + 100);
  EXPECT_EQ(usage.value.last_client_ip, "10.1.2.3");

  ASSERT_TRUE(store_->apply(batch("b-2", 1, LastUse{kStartTime + 50, "10.9.9.9"})).ok());
  EXPECT_EQ(record("key_a").last_used_at, kStartTime + 100);
  usage = store_->key_usage(record("key_a"));
  EXPECT_EQ(usage.value.last_client_ip, "10.1.2.3");
  // Every other field of the record is as it was.
  KeyRecord expected = make_key("key_a", "acme");
  expected.last_used_at = kStartTime + 100;
  EXPECT_EQ(key_record_to_json_string(record("key_a")), key_record_to_json_string(expected));
}

TEST_P(UsageStoreContract, KeyDeletedMeanwhileIsSkipped) {
  ASSERT_TRUE(records_->delete_key("key_a").ok());
  ASSERT_TRUE(store_->apply(batch("b-1", 2, LastUse{kStartTime + 1, "10.0.0.1"})).ok());
  EXPECT_EQ(records_->get_key("key_a").status.code, StoreErrc::not_found);
}

TEST_P(UsageStoreContract, ManyKeysOfManyOrgsInOneBatch) {
  UsageBatch big;
  big.id = "big";
  for (int i = 0; i < 450; ++i) {
    KeyDelta& delta = big.keys["key_" + std::to_string(i)];
    delta.org = i % 2 ? "acme" : "globex";
    delta.counts.add(200, static_cast<std::uint64_t>(i + 1));
  }
  big.org_calls["globex"][kStartTime] = 10;
  ASSERT_TRUE(store_->apply(big).ok());
  ASSERT_TRUE(store_->apply(big).ok());
  EXPECT_EQ(store_->key_usage(make_key("key_449", "acme")).value.counts.total, 450u);
  EXPECT_EQ(store_->key_usage(make_key("key_0", "globex")).value.counts.total, 1u);
  EXPECT_EQ(store_->org_calls("globex", kStartTime).value, 10u);
}

TEST_P(UsageStoreContract, UsageDataNamesKeysByIdOnly) {
  ASSERT_TRUE(store_->apply(batch("b-1", 2, LastUse{kStartTime, "10.0.0.1"})).ok());
  const std::string dump = backend_->dump();
  const std::string hash = make_key("key_a", "acme").hash;
  // The record holds the hash (by design); the usage data must not add another copy.
  std::size_t copies = 0;
  for (auto at = dump.find(hash); at != std::string::npos; at = dump.find(hash, at + 1)) ++copies;
  // Redis: the record's name, its value and the id index; file: the record.
  EXPECT_EQ(copies, GetParam() == "redis" ? 3u : 1u) << dump;
}

INSTANTIATE_TEST_SUITE_P(Stores, UsageStoreContract,
                         ::testing::Values("file", "redis", "file_and_redis"),
                         [](const auto& info) { return info.param; });

TEST(FileUsageStore, DocumentBesideTheKeyFile) {
  EXPECT_EQ(usage_file_path("/etc/keygate/keys.json"), "/etc/keygate/keys.usage.json");
  EXPECT_EQ(usage_file_path("keys"), "keys.usage.json");
}

TEST(FileUsageStore, CorruptDocumentIsReportedAndLeftAlone) {
  testing::TempDir dir;
  const std::string path = dir.file("keys.usage.json");
  testing::write_text(path, "{not json");
  FileUsageStore store(path, nullptr);
  StoreStatus status = store.apply(batch("b-1", 1));
  EXPECT_EQ(status.code, StoreErrc::corrupt);
  EXPECT_NE(status.message.find(path), std::string::npos);
  EXPECT_EQ(testing::read_text(path), "{not json");
}

TEST(FileUsageStore, KeepsTheLatestTwoPeriodsAndTheLastBatchIds) {
  testing::TempDir dir;
  const std::string path = dir.file("keys.usage.json");
  FileUsageStore store(path, nullptr, [] { return kStartTime; });
  for (int period = 0; period < 4; ++period) {
    UsageBatch b;
    b.id = "p" + std::to_string(period);
    b.org_calls["acme"][kStartTime + period * kUsagePeriodSeconds] = 1;
    ASSERT_TRUE(store.apply(b).ok());
  }
  for (std::size_t i = 0; i < FileUsageStore::kRememberedBatches + 5; ++i) {
    UsageBatch b;
    b.id = "n" + std::to_string(i);
    b.org_calls["acme"][kStartTime + 3 * kUsagePeriodSeconds] = 1;
    ASSERT_TRUE(store.apply(b).ok());
  }
  auto document = boost::json::parse(testing::read_text(path)).as_object();
  EXPECT_EQ(document["orgs"].as_object()["acme"].as_object().size(), 2u);
  EXPECT_EQ(document["batches"].as_array().size(), FileUsageStore::kRememberedBatches);
  EXPECT_EQ(store.org_calls("acme", kStartTime).value, 0u);
  EXPECT_EQ(store.org_calls("acme", kStartTime + 3 * kUsagePeriodSeconds).value,
            1u + FileUsageStore::kRememberedBatches + 5);
}

TEST(RedisUsageStore, UnreachableRedisIsUnavailableAndReconnectsLater) {
  keygate::testing::RedisServer server;
  int connects = 0;
  bool reachable = false;
  RedisUsageStore store(testing::redis_config(server.port()), nullptr,
                        [&](std::string* error) -> std::unique_ptr<redis::SyncClient> {
                          ++connects;
                          if (!reachable) {
                            *error = "connection refused";
                            return nullptr;
                          }
                          return redis::connect_sync(testing::redis_config(server.port()), error);
                        });
  StoreStatus status = store.apply(batch("b-1", 1));
  EXPECT_EQ(status.code, StoreErrc::unavailable);
  EXPECT_NE(status.message.find("connection refused"), std::string::npos);
  reachable = true;
  EXPECT_TRUE(store.apply(batch("b-1", 1)).ok());
  EXPECT_EQ(connects, 2);
  const std::string name = usage_redis_schema::key_usage("kg:", "acme", "key_a");
  EXPECT_EQ(name, "kg:usage:{acme}:key:key_a");
  EXPECT_EQ(server.command({"HGET", name, "total"}).str, "1");
  EXPECT_GT(server.command({"TTL", name}).integer, 0);
}

TEST(RedisUsageStore, RecordWriteBumpsTheOrgRevision) {
  keygate::testing::RedisServer server;
  testing::RedisBackend backend(server);
  auto records = backend.open();
  ASSERT_TRUE(records->put_org({"acme", "growth", kStartTime}).ok());
  ASSERT_TRUE(records->put_key(make_key("key_a", "acme")).ok());
  const std::string rev = redis_schema::org_revision("kg:", "acme");
  const long long before = std::stoll(server.command({"GET", rev}).str);
  RedisUsageStore store(backend.config());
  ASSERT_TRUE(store.apply(batch("b-1", 1, LastUse{kStartTime + 7, "10.0.0.1"})).ok());
  EXPECT_EQ(std::stoll(server.command({"GET", rev}).str), before + 1);
  EXPECT_EQ(records->get_key("key_a").value.last_used_at, kStartTime + 7);
}

}  // namespace
}  // namespace keygate::auth
