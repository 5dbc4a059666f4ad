// `keygate keys|orgs ...` run in-process: outputs, the raw key shown exactly once, exit codes.
#include <boost/json.hpp>
#include <sstream>

#include "auth/key_format.h"
#include "auth/keys_cli.h"
#include "tests/support/free_port.h"
#include "tests/unit/auth/store_test_fixtures.h"

namespace keygate::auth {
namespace {

using keygate::testing::RedisServer;
using testing::kStartTime;
using testing::read_text;
using testing::TempDir;

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++count;
  return count;
}

// The raw key printed by `create`/`rotate`: the indented line after the headline.
std::string raw_key_in(const std::string& output) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line))
    if (line.starts_with("    ")) return line.substr(4);
  return {};
}

class CliKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = std::make_shared<conf::Config>();
    config_->keys = testing::keys_config_with_plans();
    config_->store.kind = conf::StoreConfig::Kind::file;
    config_->store.file_path = store_path_;
  }

  KeysCliEnv env() {
    KeysCliEnv env;
    env.out = &out_;
    env.err = &err_;
    env.load_config = [this](const std::string& path) -> conf::LoadResult {
      if (path == "keygate.yaml") return {config_, {}};
      return {nullptr, {{path, 3, 7, "routes: something is wrong"}}};
    };
    env.open_repository = open_key_repository;
    env.clock = [this] { return now_; };
    env.env = [](const std::string& name) -> std::optional<std::string> {
      if (name == "USER") return "tester";
      return std::nullopt;
    };
    return env;
  }

  // Runs one command line; "--config keygate.yaml" is appended unless `with_config` is false.
  int run(std::vector<std::string> args, bool with_config = true) {
    out_.str("");
    err_.str("");
    if (with_config) {
      args.push_back("--config");
      args.push_back("keygate.yaml");
    }
    return run_keys_cli(args, env());
  }

  std::string create_key(const std::string& org = "acme") {
    EXPECT_EQ(run({"keys", "create", "--org", org, "--name", "ci deploy", "--env", "live", "--type",
                   "secret", "--scope", "read:prompts", "--scope", "write:prompts", "--created-by",
                   "alice@example.com"}),
              kExitOk)
        << err_.str();
    return raw_key_in(out_.str());
  }

  std::string id_of(const std::string& raw_key) {
    EXPECT_EQ(run({"keys", "show", raw_key, "--json"}), kExitOk) << err_.str();
    return std::string(boost::json::parse(out_.str()).at("id").as_string());
  }

  TempDir dir_;
  std::string store_path_ = dir_.file("keys.json");
  std::shared_ptr<conf::Config> config_;
  UnixSeconds now_ = kStartTime;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliKeysTest, CreatePrintsTheRawKeyExactlyOnceWithAUsageHint) {
  const std::string raw = create_key();
  ASSERT_TRUE(parse_key(raw, config_->keys)) << out_.str();
  const std::string output = out_.str();
  EXPECT_EQ(occurrences(output, raw), 1u) << output;
  EXPECT_NE(output.find("Authorization: Bearer <key>"), std::string::npos) << output;
  EXPECT_NE(output.find("only time the key is shown"), std::string::npos);
  EXPECT_NE(
      output.find("\"ci deploy\" (" + raw.substr(0, kDisplayPrefixChars) + "...) of org acme"),
      std::string::npos)
      << output;
  EXPECT_TRUE(err_.str().empty());
  // The store holds the hash and the display prefix, nothing more of the key.
  const std::string file = read_text(store_path_);
  EXPECT_EQ(file.find(raw.substr(kDisplayPrefixChars)), std::string::npos);
  EXPECT_NE(file.find(KeyHasher::sha256().hash(raw)), std::string::npos);
}

TEST_F(CliKeysTest, CreateJsonIsForScripts) {
  ASSERT_EQ(run({"keys", "create", "--org", "acme", "--name", "bot", "--env", "test", "--type",
                 "public", "--scope", "a,b", "--cidr", "10.0.0.0/8", "--expires", "90d", "--json"}),
            kExitOk)
      << err_.str();
  boost::json::value json = boost::json::parse(out_.str());
  const std::string raw(json.at("key").as_string());
  EXPECT_TRUE(raw.starts_with("pk_test_"));
  const auto& record = json.at("record").as_object();
  EXPECT_EQ(record.at("org").as_string(), "acme");
  EXPECT_EQ(record.at("scopes").as_array().size(), 2u);
  EXPECT_EQ(record.at("allowed_cidrs").as_array()[0].as_string(), "10.0.0.0/8");
  EXPECT_EQ(record.at("expires_at").as_int64(), kStartTime + 90 * 86400);
  EXPECT_EQ(record.at("created_by").as_string(), "tester");  // $USER by default
  EXPECT_EQ(record.at("effective_status").as_string(), "active");
  EXPECT_EQ(occurrences(out_.str(), raw), 1u);
}

TEST_F(CliKeysTest, ListPrintsATablePerOrg) {
  const std::string raw = create_key();
  now_ += 60;
  ASSERT_EQ(run({"orgs", "create", "beta", "--plan", "growth"}), kExitOk) << err_.str();
  create_key("beta");
  ASSERT_EQ(run({"keys", "list"}), kExitOk) << err_.str();
  const std::string output = out_.str();
  EXPECT_NE(output.find("org acme (plan free, 1 of 1 keys)\n"), std::string::npos) << output;
  EXPECT_NE(output.find("org beta (plan growth, 1 of 5 keys)\n"), std::string::npos) << output;
  EXPECT_NE(output.find("ID "), std::string::npos);
  for (const char* column : {"NAME", "PREFIX", "ENV", "TYPE", "STATUS", "EXPIRES", "CREATED BY",
                             "CREATED AT", "LAST USED"})
    EXPECT_NE(output.find(column), std::string::npos) << column;
  EXPECT_NE(output.find(raw.substr(0, kDisplayPrefixChars) + "..."), std::string::npos) << output;
  EXPECT_NE(output.find("2024-05-01T10:00:00Z"), std::string::npos) << output;
  EXPECT_NE(output.find("alice@example.com"), std::string::npos);
  EXPECT_NE(output.find("never"), std::string::npos);
  EXPECT_EQ(output.find(raw), std::string::npos);  // never the raw key again

  ASSERT_EQ(run({"keys", "list", "--org", "beta", "--json"}), kExitOk);
  boost::json::value listed = boost::json::parse(out_.str());
  EXPECT_TRUE(listed.at("next_cursor").is_null());
  boost::json::array keys = listed.at("keys").as_array();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].at("org").as_string(), "beta");
  EXPECT_EQ(keys[0].at("effective_status").as_string(), "active");

  EXPECT_EQ(run({"keys", "list", "--org", "nobody"}), kExitRefused);
  EXPECT_NE(err_.str().find("no org nobody"), std::string::npos) << err_.str();
}

TEST_F(CliKeysTest, ListWithoutOrgs) {
  EXPECT_EQ(run({"keys", "list"}), kExitOk);
  EXPECT_EQ(out_.str(), "no orgs\n");
  EXPECT_EQ(run({"keys", "list", "--json"}), kExitOk);
  EXPECT_EQ(out_.str(), "{\"keys\":[],\"next_cursor\":null}\n");
}

TEST_F(CliKeysTest, ShowByIdPrefixOrRawKey) {
  const std::string raw = create_key();
  const std::string id = id_of(raw);
  ASSERT_EQ(run({"keys", "show", id}), kExitOk) << err_.str();
  const std::string by_id = out_.str();
  EXPECT_NE(by_id.find("id           " + id), std::string::npos) << by_id;
  EXPECT_NE(by_id.find("scopes       read:prompts, write:prompts"), std::string::npos) << by_id;
  EXPECT_NE(by_id.find("expires at   never"), std::string::npos) << by_id;
  ASSERT_EQ(run({"keys", "show", raw.substr(0, kDisplayPrefixChars) + "..."}), kExitOk);
  EXPECT_EQ(out_.str(), by_id);
  EXPECT_EQ(run({"keys", "show", "key_000000000000000000000000"}), kExitRefused);
  EXPECT_NE(err_.str().find("error: no key key_000000000000000000000000"), std::string::npos);
}

TEST_F(CliKeysTest, RevokeDeactivateActivate) {
  const std::string id = id_of(create_key());
  EXPECT_EQ(run({"keys", "deactivate", id}), kExitOk);
  EXPECT_TRUE(out_.str().starts_with("Deactivated key " + id)) << out_.str();
  EXPECT_EQ(run({"keys", "deactivate", id}), kExitOk);
  EXPECT_TRUE(out_.str().starts_with("Nothing to do:")) << out_.str();
  EXPECT_EQ(run({"keys", "activate", id}), kExitOk);
  EXPECT_TRUE(out_.str().starts_with("Activated key " + id)) << out_.str();

  now_ += 5;
  EXPECT_EQ(run({"keys", "revoke", id}), kExitOk);
  EXPECT_TRUE(out_.str().starts_with("Revoked key " + id)) << out_.str();
  ASSERT_EQ(run({"keys", "show", id, "--json"}), kExitOk);
  boost::json::value shown = boost::json::parse(out_.str());
  EXPECT_EQ(shown.at("status").as_string(), "revoked");
  EXPECT_EQ(shown.at("revoked_at").as_int64(), kStartTime + 5);
  EXPECT_EQ(run({"keys", "activate", id}), kExitRefused);
  EXPECT_NE(err_.str().find("revocation is final"), std::string::npos) << err_.str();
  ASSERT_EQ(run({"keys", "list", "--org", "acme"}), kExitOk);
  EXPECT_NE(out_.str().find("revoked"), std::string::npos);
}

TEST_F(CliKeysTest, RotatePrintsTheNewKeyOnceAndTheGracePeriod) {
  const std::string old_raw = create_key();
  const std::string old_id = id_of(old_raw);
  ASSERT_EQ(run({"keys", "rotate", old_id, "--grace", "24h"}), kExitOk) << err_.str();
  const std::string output = out_.str();
  const std::string new_raw = raw_key_in(output);
  ASSERT_TRUE(parse_key(new_raw, config_->keys)) << output;
  EXPECT_EQ(occurrences(output, new_raw), 1u);
  EXPECT_EQ(output.find(old_raw), std::string::npos);
  EXPECT_NE(output.find("keeps working until 2024-05-02T10:00:00Z (1d from now)"),
            std::string::npos)
      << output;

  const std::string new_id = id_of(new_raw);
  ASSERT_EQ(run({"keys", "rotate", new_id, "--grace", "0"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("The old key is revoked."), std::string::npos) << out_.str();
  EXPECT_EQ(run({"keys", "rotate", old_id}), kExitRefused);
  EXPECT_NE(err_.str().find("already rotated"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"keys", "rotate", old_id, "--grace", "soon"}), kExitUsage);
}

TEST_F(CliKeysTest, RotateJson) {
  const std::string old_id = id_of(create_key());
  ASSERT_EQ(run({"keys", "rotate", old_id, "--json"}), kExitOk) << err_.str();
  boost::json::value json = boost::json::parse(out_.str());
  EXPECT_EQ(json.at("old_record").at("successor_id"), json.at("record").at("id"));
  EXPECT_EQ(json.at("old_record").at("grace_until").as_int64(), kStartTime + 86400);
}

TEST_F(CliKeysTest, DeleteAndExpire) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "growth"}), kExitOk);
  const std::string id = id_of(create_key());
  EXPECT_EQ(run({"keys", "expire", id, "--in", "30d"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("expires at 2024-05-31T10:00:00Z"), std::string::npos) << out_.str();
  EXPECT_EQ(run({"keys", "expire", id, "--at", "2025-01-31T00:00:00Z"}), kExitOk);
  ASSERT_EQ(run({"keys", "show", id, "--json"}), kExitOk);
  EXPECT_EQ(boost::json::parse(out_.str()).at("expires_at").as_int64(), 1738281600);
  EXPECT_EQ(run({"keys", "expire", id, "--never"}), kExitOk);
  EXPECT_NE(out_.str().find("never expires"), std::string::npos);
  EXPECT_EQ(run({"keys", "expire", id}), kExitUsage);
  EXPECT_EQ(run({"keys", "expire", id, "--at", "tomorrow"}), kExitUsage);
  EXPECT_EQ(run({"keys", "expire", id, "--at", "2025-01-31T00:00:00Z", "--never"}), kExitUsage);

  EXPECT_EQ(run({"keys", "delete", id}), kExitOk);
  EXPECT_TRUE(out_.str().starts_with("Deleted key " + id)) << out_.str();
  EXPECT_EQ(run({"keys", "show", id}), kExitRefused);
  EXPECT_EQ(run({"keys", "delete", id}), kExitRefused);
}

TEST_F(CliKeysTest, RenameAndSetScopes) {
  const std::string id = id_of(create_key());
  EXPECT_EQ(run({"keys", "rename", id, "new name"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("\"new name\""), std::string::npos) << out_.str();
  EXPECT_EQ(run({"keys", "set-scopes", id, "--scope", "a", "--scope", "b"}), kExitOk);
  EXPECT_NE(out_.str().find("scopes a, b."), std::string::npos) << out_.str();
  EXPECT_EQ(run({"keys", "set-scopes", id}), kExitOk);
  EXPECT_NE(out_.str().find("scopes (none)."), std::string::npos) << out_.str();
}

TEST_F(CliKeysTest, PlanLimitIsARefusal) {
  create_key();
  EXPECT_EQ(run({"keys", "create", "--org", "acme", "--name", "second", "--env", "live", "--type",
                 "secret"}),
            kExitRefused);
  EXPECT_NE(err_.str().find("error: org acme already has 1 of the 1 keys its plan \"free\""),
            std::string::npos)
      << err_.str();
  EXPECT_TRUE(out_.str().empty());
}

TEST_F(CliKeysTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(run({"keys", "create", "--name", "x", "--env", "live", "--type", "secret"}),
            kExitUsage);  // --org missing
  EXPECT_NE(err_.str().find("--org"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"keys", "frobnicate"}), kExitUsage);
  EXPECT_EQ(run({"keys"}), kExitUsage);
  EXPECT_EQ(
      run({"keys", "create", "--org", "acme", "--name", "x", "--env", "prod", "--type", "secret"}),
      kExitUsage);
  EXPECT_NE(err_.str().find("unknown environment \"prod\" (configured: test, live)"),
            std::string::npos)
      << err_.str();
  EXPECT_EQ(run({"keys", "create", "--org", "acme", "--name", "x", "--env", "live", "--type",
                 "secret", "--expires", "next week"}),
            kExitUsage);
  EXPECT_NE(err_.str().find("--expires"), std::string::npos);
  EXPECT_EQ(run({"keys", "list"}, /*with_config=*/false), kExitUsage);
  EXPECT_NE(err_.str().find("--config"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"orgs", "create", "acme", "--plan", "platinum"}), kExitUsage);
}

TEST_F(CliKeysTest, HelpIsNotAnError) {
  EXPECT_EQ(run({"keys", "create", "--help"}, false), kExitOk);
  EXPECT_NE(out_.str().find("--expires"), std::string::npos) << out_.str();
}

TEST_F(CliKeysTest, ConfigErrorsExitWithTwoAndSayWhere) {
  EXPECT_EQ(run({"keys", "list", "--config", "broken.yaml"}, false), kExitUsage);
  EXPECT_NE(err_.str().find("broken.yaml:3:7: routes: something is wrong"), std::string::npos)
      << err_.str();
  config_->keys.hash = conf::KeysConfig::Hash::hmac_sha256;
  config_->keys.pepper_env = "KEYGATE_TEST_NO_SUCH_PEPPER";
  EXPECT_EQ(run({"keys", "list"}), kExitUsage);
  EXPECT_NE(err_.str().find("KEYGATE_TEST_NO_SUCH_PEPPER"), std::string::npos) << err_.str();
}

TEST_F(CliKeysTest, BrokenStoreFileIsUnavailable) {
  testing::write_text(store_path_, "{\"keys\": [");
  EXPECT_EQ(run({"keys", "list"}), kExitUnavailable);
  EXPECT_NE(err_.str().find(store_path_ + ": line 1"), std::string::npos) << err_.str();
}

TEST_F(CliKeysTest, UnreachableRedisIsUnavailable) {
  config_->store.kind = conf::StoreConfig::Kind::redis;
  config_->store.redis = testing::redis_config(keygate::testing::pick_free_port());
  config_->store.redis.connect_timeout = std::chrono::milliseconds(300);
  EXPECT_EQ(run({"keys", "list"}), kExitUnavailable);
  EXPECT_NE(err_.str().find("redis 127.0.0.1:"), std::string::npos) << err_.str();
}

TEST_F(CliKeysTest, WorksAgainstRedis) {
  RedisServer server;
  config_->store.kind = conf::StoreConfig::Kind::redis;
  config_->store.redis = testing::redis_config(server.port());
  const std::string raw = create_key();
  ASSERT_FALSE(raw.empty());
  ASSERT_EQ(run({"keys", "list", "--org", "acme"}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find(raw.substr(0, kDisplayPrefixChars) + "..."), std::string::npos);
  EXPECT_EQ(run({"keys", "revoke", raw.substr(0, kDisplayPrefixChars)}), kExitOk) << err_.str();
  redis::Reply keys = server.command({"KEYS", "kg:*"});
  EXPECT_GE(keys.elements.size(), 5u);
  for (const redis::Reply& key : keys.elements) {
    EXPECT_EQ(key.str.find(raw.substr(kDisplayPrefixChars)), std::string::npos);
    redis::Reply value = server.command({"GET", key.str});
    EXPECT_EQ(value.str.find(raw.substr(kDisplayPrefixChars)), std::string::npos);
  }
}

TEST_F(CliKeysTest, OrgsCreateListSetPlan) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "starter"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "Created org acme on plan starter.\n");
  EXPECT_EQ(run({"orgs", "create", "acme"}), kExitRefused);
  ASSERT_EQ(run({"orgs", "create", "zeta"}), kExitOk);
  EXPECT_EQ(out_.str(), "Created org zeta on plan free.\n");
  create_key();
  ASSERT_EQ(run({"orgs", "set-plan", "zeta", "enterprise"}), kExitOk);
  ASSERT_EQ(run({"orgs", "list"}), kExitOk);
  const std::string table = out_.str();
  EXPECT_NE(table.find("ORG   PLAN        KEYS"), std::string::npos) << table;
  EXPECT_NE(table.find("acme  starter     1 of 2 keys"), std::string::npos) << table;
  EXPECT_NE(table.find("zeta  enterprise  0 keys, unlimited"), std::string::npos) << table;
  ASSERT_EQ(run({"orgs", "list", "--json"}), kExitOk);
  boost::json::array orgs = boost::json::parse(out_.str()).at("orgs").as_array();
  ASSERT_EQ(orgs.size(), 2u);
  EXPECT_EQ(orgs[0].at("max_keys").as_int64(), 2);
  EXPECT_EQ(orgs[0].at("active_keys").as_int64(), 1);
  EXPECT_TRUE(orgs[1].at("max_keys").is_null());
  EXPECT_EQ(run({"orgs", "set-plan", "nobody", "free"}), kExitRefused);
}

// Issue 10: --json printed records with their hash and left unset fields out, lists were bare
// arrays, and most commands had no --json at all.
TEST_F(CliKeysTest, EveryCommandPrintsJsonInTheApiShape) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "growth", "--json"}), kExitOk) << err_.str();
  boost::json::value org = boost::json::parse(out_.str());
  EXPECT_EQ(org.at("id").as_string(), "acme");
  EXPECT_EQ(org.at("plan").as_string(), "growth");
  ASSERT_EQ(run({"orgs", "set-plan", "acme", "scale", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(boost::json::parse(out_.str()).at("plan").as_string(), "scale");

  const std::string id = id_of(create_key());
  ASSERT_EQ(run({"keys", "show", id, "--json"}), kExitOk);
  boost::json::object key = boost::json::parse(out_.str()).as_object();
  EXPECT_FALSE(key.contains("hash"));
  for (const char* absent :
       {"expires_at", "revoked_at", "last_used_at", "grace_until", "successor_id"}) {
    ASSERT_TRUE(key.contains(absent)) << absent;
    EXPECT_TRUE(key.at(absent).is_null()) << absent;
  }

  const std::vector<std::vector<std::string>> changes = {{"keys", "deactivate", id},
                                                         {"keys", "activate", id},
                                                         {"keys", "rename", id, "renamed"},
                                                         {"keys", "set-scopes", id, "--scope", "a"},
                                                         {"keys", "expire", id, "--in", "30d"},
                                                         {"keys", "revoke", id}};
  for (std::vector<std::string> args : changes) {
    args.push_back("--json");
    ASSERT_EQ(run(args), kExitOk) << args[1] << ": " << err_.str();
    boost::json::value change = boost::json::parse(out_.str());
    EXPECT_TRUE(change.at("changed").as_bool()) << args[1];
    EXPECT_EQ(change.at("record").at("id").as_string(), id) << args[1];
    EXPECT_FALSE(change.at("record").as_object().contains("hash")) << args[1];
  }
  ASSERT_EQ(run({"keys", "delete", id, "--json"}), kExitOk);
  EXPECT_EQ(boost::json::parse(out_.str()).at("deleted").at("status").as_string(), "revoked");
}

TEST_F(CliKeysTest, ListsArePagedLikeTheApi) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "enterprise"}), kExitOk);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(id_of(create_key()));
    now_ += 1;
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 3; ++page) {
    std::vector<std::string> args = {"keys", "list", "--json", "--limit", "2"};
    if (!cursor.empty()) args.insert(args.end(), {"--cursor", cursor});
    ASSERT_EQ(run(args), kExitOk) << err_.str();
    boost::json::value listed = boost::json::parse(out_.str());
    for (const auto& key : listed.at("keys").as_array())
      seen.emplace_back(key.at("id").as_string());
    if (listed.at("next_cursor").is_null()) break;
    cursor = std::string(listed.at("next_cursor").as_string());
  }
  EXPECT_EQ(seen, ids);  // creation order, each key once
  ASSERT_EQ(run({"keys", "list", "--limit", "1"}), kExitOk);
  EXPECT_NE(out_.str().find("More keys: add --cursor "), std::string::npos) << out_.str();
  EXPECT_EQ(run({"keys", "list", "--cursor", "nonsense"}), kExitUsage);
  EXPECT_EQ(run({"keys", "list", "--limit", "0"}), kExitUsage);
}

// Issue 10: keys list showed neither the expiry nor that a key had been rotated away.
TEST_F(CliKeysTest, ListShowsExpiryAndRotatedKeys) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "enterprise"}), kExitOk);
  ASSERT_EQ(run({"keys", "create", "--org", "acme", "--name", "x", "--env", "live", "--type",
                 "secret", "--expires", "2024-06-01T00:00:00Z"}),
            kExitOk);
  const std::string id = id_of(raw_key_in(out_.str()));
  ASSERT_EQ(run({"keys", "rotate", id}), kExitOk) << err_.str();
  EXPECT_NE(out_.str().find("The new key expires at 2024-06-01T00:00:00Z, like the key it "
                            "replaces."),
            std::string::npos)
      << out_.str();
  ASSERT_EQ(run({"keys", "list", "--org", "acme"}), kExitOk);
  const std::string table = out_.str();
  std::istringstream lines(table);
  std::string line;
  int rotated = 0, active = 0;
  while (std::getline(lines, line)) {
    if (!line.starts_with("key_")) continue;
    EXPECT_NE(line.find("2024-06-01T00:00:00Z"), std::string::npos) << line;
    if (line.starts_with(id))
      rotated += line.find("rotated") != std::string::npos;
    else
      active += line.find("active") != std::string::npos;
  }
  EXPECT_EQ(rotated, 1) << table;
  EXPECT_EQ(active, 1) << table;
  ASSERT_EQ(run({"keys", "show", id, "--json"}), kExitOk);
  EXPECT_EQ(boost::json::parse(out_.str()).at("effective_status").as_string(), "rotated");
}

TEST_F(CliKeysTest, RotateSetsANewExpiryOnlyWhenAsked) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "enterprise"}), kExitOk);
  const std::string id = id_of(create_key());
  ASSERT_EQ(run({"keys", "rotate", id, "--expires", "30d", "--json"}), kExitOk) << err_.str();
  boost::json::value json = boost::json::parse(out_.str());
  EXPECT_EQ(json.at("record").at("expires_at").as_int64(), kStartTime + 30 * 86400);
  const std::string next(json.at("record").at("id").as_string());
  ASSERT_EQ(run({"keys", "rotate", next, "--no-expiry", "--json"}), kExitOk) << err_.str();
  EXPECT_TRUE(boost::json::parse(out_.str()).at("record").at("expires_at").is_null());
  EXPECT_EQ(run({"keys", "rotate", id, "--expires", "30d", "--no-expiry"}), kExitUsage);
}

// The binary's path: the real configuration loader and the real file store.
TEST(CliKeysDefaultEnvTest, LoadsTheConfigurationFile) {
  TempDir dir;
  testing::write_text(dir.file("keygate.yaml"), R"(upstreams:
  - name: api
    url: http://127.0.0.1:3000
routes:
  - match: {path_prefix: /}
    upstream: api
store:
  kind: file
  file: keys.json
)");
  std::ostringstream out, err;
  ASSERT_EQ(run_keys_cli({"keys", "create", "--config", dir.file("keygate.yaml"), "--org", "acme",
                          "--name", "demo", "--env", "test", "--type", "secret"},
                         out, err),
            kExitOk)
      << err.str();
  EXPECT_TRUE(raw_key_in(out.str()).starts_with("sk_test_")) << out.str();
  EXPECT_NE(read_text(dir.file("keys.json")).find("\"name\":\"demo\""), std::string::npos);
}

}  // namespace
}  // namespace keygate::auth
