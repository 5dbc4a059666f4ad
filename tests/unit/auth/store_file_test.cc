#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "auth/file_key_store.h"
#include "auth/file_store_format.h"
#include "auth/key_record_json.h"
#include "tests/unit/auth/store_test_fixtures.h"

namespace keygate::auth {
namespace {

using testing::kStartTime;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

KeyRecord make_key(const std::string& id, const std::string& org, const std::string& hash) {
  KeyRecord key;
  key.id = id;
  key.hash = hash;
  key.prefix = "sk_live_abcdef";
  key.name = "key " + id;
  key.org = org;
  key.environment = "live";
  key.type = "secret";
  key.scopes = {"read", "write"};
  key.created_at = kStartTime;
  key.created_by = "alice";
  key.expires_at = kStartTime + 86400;
  key.allowed_cidrs = {"10.0.0.0/8"};
  key.limit_overrides = {{"per-key", 100, 60000}};
  return key;
}

std::string hash_of(char c) {
  return std::string(64, c);
}

LookupResult lookup(FileKeyStore& store, const std::string& hash) {
  LookupResult out;
  bool called = false;
  store.find_by_hash(hash, [&](LookupResult result) {
    called = true;  // inline: the snapshot answers before find_by_hash returns
    out = std::move(result);
  });
  EXPECT_TRUE(called);
  return out;
}

class StoreFileTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string path_ = dir_.file("keys.json");
};

TEST_F(StoreFileTest, MissingFileIsAnEmptyStore) {
  FileKeyStore store(dir_.file("absent.json"));
  EXPECT_TRUE(store.reload().ok());
  EXPECT_EQ(lookup(store, hash_of('a')).status, LookupStatus::not_found);
  auto orgs = store.list_orgs();
  ASSERT_TRUE(orgs.ok());
  EXPECT_TRUE(orgs.value.empty());
  EXPECT_EQ(store.get_key("key_x").status.code, StoreErrc::not_found);
}

TEST_F(StoreFileTest, RoundTripKeepsEveryField) {
  FileKeyStore store(path_);
  KeyRecord key = make_key("key_1", "acme", hash_of('a'));
  key.last_used_at = kStartTime + 5;
  key.successor_id = "key_2";
  key.grace_until = kStartTime + 3600;
  ASSERT_TRUE(store.put_org({"acme", "growth", kStartTime}).ok());
  ASSERT_TRUE(store.put_key(key).ok());

  FileKeyStore reopened(path_);
  auto read = reopened.get_key("key_1");
  ASSERT_TRUE(read.ok()) << read.status.message;
  EXPECT_EQ(to_json(read.value), to_json(key));
  auto by_hash = reopened.get_key_by_hash(hash_of('a'));
  ASSERT_TRUE(by_hash.ok());
  EXPECT_EQ(by_hash.value.id, "key_1");
  auto org = reopened.get_org("acme");
  ASSERT_TRUE(org.ok());
  EXPECT_EQ(org.value.plan, "growth");
  EXPECT_EQ(org.value.created_at, kStartTime);
}

TEST_F(StoreFileTest, FileIsTheDocumentedShapeOneRecordPerLine) {
  FileKeyStore store(path_);
  ASSERT_TRUE(store.put_org({"acme", "free", kStartTime}).ok());
  ASSERT_TRUE(store.put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  const std::string text = read_text(path_);
  EXPECT_TRUE(text.starts_with("{\n  \"version\": 1,\n  \"orgs\": [\n    {\"id\":\"acme\""))
      << text;
  EXPECT_NE(text.find("\n  \"keys\": [\n    {\"id\":\"key_1\""), std::string::npos) << text;
  std::string error;
  auto document = parse_store_document(text, error);
  ASSERT_TRUE(document) << error;
  EXPECT_EQ(document->keys.size(), 1u);
  // No temp file left behind; only the data file and its lock file.
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(StoreFileTest, HandWrittenFileWithoutVersionOrOrgsLoads) {
  write_text(path_, R"({"keys":[{"id":"key_1","hash":")" + hash_of('b') +
                        R"(","org":"acme","environment":"live","type":"secret"}]})");
  FileKeyStore store(path_);
  ASSERT_TRUE(store.reload().ok());
  LookupResult found = lookup(store, hash_of('b'));
  ASSERT_EQ(found.status, LookupStatus::found);
  EXPECT_EQ(found.key->id, "key_1");
  EXPECT_EQ(found.org, nullptr);  // no org record: the contract says null
}

TEST_F(StoreFileTest, LookupAnswersFromTheSnapshotUntilReload) {
  FileKeyStore writer(path_);
  ASSERT_TRUE(writer.put_org({"acme", "free", kStartTime}).ok());
  ASSERT_TRUE(writer.put_key(make_key("key_1", "acme", hash_of('a'))).ok());

  FileKeyStore proxy(path_);
  EXPECT_EQ(lookup(proxy, hash_of('a')).status, LookupStatus::not_found);  // not loaded yet
  ASSERT_TRUE(proxy.reload().ok());
  LookupResult found = lookup(proxy, hash_of('a'));
  ASSERT_EQ(found.status, LookupStatus::found);
  EXPECT_EQ(found.key->org, "acme");
  ASSERT_NE(found.org, nullptr);
  EXPECT_EQ(found.org->plan, "free");

  // A change by another process is seen only after reload(); a result handed out earlier
  // stays valid and unchanged (immutable snapshot).
  KeyRecord revoked = *found.key;
  revoked.status = KeyStatus::revoked;
  ASSERT_TRUE(writer.put_key(revoked).ok());
  EXPECT_EQ(lookup(proxy, hash_of('a')).key->status, KeyStatus::active);
  ASSERT_TRUE(proxy.reload().ok());
  EXPECT_EQ(lookup(proxy, hash_of('a')).key->status, KeyStatus::revoked);
  EXPECT_EQ(found.key->status, KeyStatus::active);
}

TEST_F(StoreFileTest, WritesThroughTheStoreUpdateItsOwnSnapshot) {
  FileKeyStore store(path_);
  ASSERT_TRUE(store.put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  EXPECT_EQ(lookup(store, hash_of('a')).status, LookupStatus::found);
  ASSERT_TRUE(store.delete_key("key_1").ok());
  EXPECT_EQ(lookup(store, hash_of('a')).status, LookupStatus::not_found);
}

TEST_F(StoreFileTest, MalformedFileKeepsThePreviousSnapshotAndNamesTheFile) {
  FileKeyStore store(path_);
  ASSERT_TRUE(store.put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  ASSERT_TRUE(store.reload().ok());

  write_text(path_, "{\n  \"keys\": [\n    {\"id\": \"key_2\",, }\n  ]\n}\n");
  StoreStatus status = store.reload();
  EXPECT_EQ(status.code, StoreErrc::corrupt);
  EXPECT_TRUE(status.message.starts_with(path_ + ": line 3")) << status.message;
  EXPECT_EQ(lookup(store, hash_of('a')).status, LookupStatus::found);

  write_text(path_, R"({"keys":[{"id":"key_2"}]})");
  status = store.reload();
  EXPECT_EQ(status.code, StoreErrc::corrupt);
  EXPECT_NE(status.message.find("keys[0]: key.hash is required"), std::string::npos)
      << status.message;
  EXPECT_EQ(lookup(store, hash_of('a')).status, LookupStatus::found);

  // Management calls refuse to build on a broken file rather than overwrite it.
  EXPECT_EQ(store.put_org({"acme", "free", kStartTime}).code, StoreErrc::corrupt);
  EXPECT_EQ(read_text(path_), R"({"keys":[{"id":"key_2"}]})");
}

TEST_F(StoreFileTest, DuplicateIdsHashesAndUnknownVersionAreRejected) {
  std::string error;
  const std::string key = R"({"id":"key_1","hash":")" + hash_of('a') + R"("})";
  EXPECT_FALSE(parse_store_document(R"({"keys":[)" + key + "," + key + "]}", error));
  EXPECT_NE(error.find("key_1 appears twice"), std::string::npos) << error;
  EXPECT_FALSE(parse_store_document(
      R"({"keys":[{"id":"key_1","hash":"h"},{"id":"key_2","hash":"h"}]})", error));
  EXPECT_NE(error.find("same hash"), std::string::npos) << error;
  EXPECT_FALSE(parse_store_document(R"({"version":2})", error));
  EXPECT_NE(error.find("version"), std::string::npos) << error;
  EXPECT_FALSE(parse_store_document(R"([])", error));
  EXPECT_FALSE(parse_store_document(R"({"orgs":{}})", error));
  EXPECT_NE(error.find("\"orgs\" must be an array"), std::string::npos) << error;
}

TEST_F(StoreFileTest, TransactionRulesAreEnforced) {
  FileKeyStore store(path_);
  ASSERT_TRUE(store.put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  // The hash of a key never changes.
  EXPECT_EQ(store.put_key(make_key("key_1", "acme", hash_of('b'))).code, StoreErrc::conflict);
  // No two keys share a hash, even across orgs; an id is not reused by another org.
  EXPECT_EQ(store.put_key(make_key("key_2", "acme", hash_of('a'))).code, StoreErrc::conflict);
  EXPECT_EQ(store.put_key(make_key("key_2", "other", hash_of('a'))).code, StoreErrc::conflict);
  EXPECT_EQ(store.put_key(make_key("key_1", "other", hash_of('c'))).code, StoreErrc::conflict);
  EXPECT_EQ(store.delete_key("key_nope").code, StoreErrc::not_found);
  // A declined transaction writes nothing.
  const std::string before = read_text(path_);
  EXPECT_EQ(store
                .transact("acme",
                          [](const OrgKeys&, OrgChanges& changes) {
                            changes.put_org = OrgRecord{"acme", "free", 1};
                            return false;
                          })
                .code,
            StoreErrc::aborted);
  EXPECT_EQ(read_text(path_), before);
}

TEST_F(StoreFileTest, ReadOrgListsOnlyThatOrgInCreationOrder) {
  FileKeyStore store(path_);
  ASSERT_TRUE(store.put_key(make_key("key_1", "acme", hash_of('a'))).ok());
  ASSERT_TRUE(store.put_key(make_key("key_2", "other", hash_of('b'))).ok());
  ASSERT_TRUE(store.put_key(make_key("key_3", "acme", hash_of('c'))).ok());
  auto keys = store.list_keys("acme");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys.value.size(), 2u);
  EXPECT_EQ(keys.value[0].id, "key_1");
  EXPECT_EQ(keys.value[1].id, "key_3");
  auto count = store.count_active_keys("acme", kStartTime);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count.value, 2u);
  EXPECT_EQ(store.count_active_keys("acme", kStartTime + 86400).value, 0u);  // both expired
}

// Each writer appends keys to the same org through its own store object (its own lock file
// descriptor), as separate CLI invocations would. Without the lock, read-modify-write would
// lose some of them.
TEST_F(StoreFileTest, ConcurrentWritersLoseNoUpdate) {
  constexpr int kWriters = 4;
  constexpr int kKeysEach = 25;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      FileKeyStore store(path_);
      for (int i = 0; i < kKeysEach; ++i) {
        const std::string id = "key_" + std::to_string(w) + "_" + std::to_string(i);
        char hash[65];
        std::snprintf(hash, sizeof hash, "%064d", w * 1000 + i);
        if (!store.put_key(make_key(id, "acme", hash)).ok()) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  FileKeyStore store(path_);
  EXPECT_EQ(store.list_keys("acme").value.size(), static_cast<std::size_t>(kWriters * kKeysEach));
}

TEST_F(StoreFileTest, ConcurrentProcessesLoseNoUpdate) {
  constexpr int kProcesses = 3;
  constexpr int kKeysEach = 15;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      FileKeyStore store(path_);
      int failures = 0;
      for (int i = 0; i < kKeysEach; ++i) {
        char hash[65];
        std::snprintf(hash, sizeof hash, "%064d", p * 1000 + i);
        if (!store
                 .put_key(
                     make_key("key_p" + std::to_string(p) + "_" + std::to_string(i), "acme", hash))
                 .ok())
          ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  FileKeyStore store(path_);
  EXPECT_EQ(store.list_keys("acme").value.size(), static_cast<std::size_t>(kProcesses * kKeysEach));
}

TEST_F(StoreFileTest, AHeldLockTurnsIntoBusyNotAHang) {
  FileKeyStore holder(path_, std::chrono::seconds(5));
  FileKeyStore waiter(path_, std::chrono::milliseconds(100));
  StoreStatus inner;
  StoreStatus outer = holder.transact("acme", [&](const OrgKeys&, OrgChanges& changes) {
    inner = waiter.put_org({"acme", "free", kStartTime});  // the lock is held right now
    changes = {};
    return true;
  });
  EXPECT_TRUE(outer.ok());
  EXPECT_EQ(inner.code, StoreErrc::busy);
  EXPECT_NE(inner.message.find(".lock"), std::string::npos) << inner.message;
}

TEST_F(StoreFileTest, UnwritableDirectoryIsUnavailable) {
  FileKeyStore store(dir_.file("missing-dir/keys.json"));
  StoreStatus status = store.put_org({"acme", "free", kStartTime});
  EXPECT_EQ(status.code, StoreErrc::unavailable);
  EXPECT_NE(status.message.find("missing-dir"), std::string::npos) << status.message;
}

TEST_F(StoreFileTest, KeepsTheFileModeAcrossRewrites) {
  FileKeyStore store(path_);
  ASSERT_TRUE(store.put_org({"acme", "free", kStartTime}).ok());
  std::filesystem::permissions(
      path_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_TRUE(store.put_org({"acme", "growth", kStartTime}).ok());
  EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace
}  // namespace keygate::auth
