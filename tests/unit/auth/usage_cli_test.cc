// `keygate orgs usage`, `keygate keys usage` and the usage block of `keygate keys show`, run
// in-process against a file store and the real usage document beside it.
#include "auth/usage_cli.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <sstream>

#include "auth/usage_file_store.h"
#include "tests/unit/auth/store_test_fixtures.h"

namespace keygate::auth {
namespace {

using testing::kStartTime;
using testing::TempDir;

class UsageCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = std::make_shared<conf::Config>();
    config_->keys = testing::keys_config_with_plans();
    for (conf::PlanConfig& plan : config_->keys.plans)
      if (plan.name == "growth") plan.monthly_quota = 1000;
    config_->store.kind = conf::StoreConfig::Kind::file;
    config_->store.file_path = dir_.file("keys.json");
  }

  KeysCliEnv env() {
    KeysCliEnv env;
    env.out = &out_;
    env.err = &err_;
    env.load_config = [this](const std::string&) -> conf::LoadResult { return {config_, {}}; };
    env.open_repository = open_key_repository;
    env.clock = [this] { return now_; };
    env.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    return env;
  }

  // The binary's command tree: keys/orgs first, then the usage extensions.
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    args.insert(args.end(), {"--config", "keygate.yaml"});
    auto shared = std::make_shared<const KeysCliEnv>(env());
    CLI::App app("keygate", "keygate");
    app.require_subcommand(1);
    add_keys_commands(app, shared);
    add_usage_commands(app, shared);
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
      app.parse(reversed);
    } catch (const CLI::Error& error) {
      return keys_cli_exit_code(app, error, out_, err_);
    }
    return kExitOk;
  }

  std::string create_key(const std::string& name) {
    EXPECT_EQ(run({"keys", "create", "--org", "acme", "--name", name, "--env", "live", "--type",
                   "secret", "--json"}),
              kExitOk)
        << err_.str();
    return std::string(
        boost::json::parse(out_.str()).as_object()["record"].as_object()["id"].as_string());
  }

  // Writes usage the way the proxy's flush does.
  void record(const std::string& id, std::uint64_t ok, std::uint64_t client_errors,
              std::uint64_t server_errors) {
    FileUsageStore store(usage_file_path(config_->store.file_path),
                         open_key_repository(*config_, error_), [this] { return now_; });
    UsageBatch batch;
    batch.id = "b" + std::to_string(++batches_);
    KeyDelta& delta = batch.keys[id];
    delta.org = "acme";
    delta.counts.add(200, ok);
    delta.counts.add(404, client_errors);
    delta.counts.add(502, server_errors);
    delta.last_use = LastUse{now_, "192.0.2.10"};
    batch.org_calls["acme"][usage_period_start(org_created_, now_)] = ok + server_errors;
    ASSERT_TRUE(store.apply(batch).ok());
  }

  TempDir dir_;
  std::shared_ptr<conf::Config> config_;
  std::ostringstream out_, err_;
  UnixSeconds now_ = kStartTime;
  UnixSeconds org_created_ = kStartTime;
  StoreStatus error_;
  int batches_ = 0;
};

TEST_F(UsageCliTest, OrgUsageShowsThePeriodTheLimitAndEveryKey) {
  ASSERT_EQ(run({"orgs", "create", "acme", "--plan", "growth"}), kExitOk) << err_.str();
  const std::string a = create_key("a");
  const std::string b = create_key("b");
  now_ = kStartTime + 31 * 24 * 3600;  // the second period
  record(a, 7, 2, 1);
  record(b, 1, 0, 0);

  ASSERT_EQ(run({"orgs", "usage", "acme", "--json"}), kExitOk) << err_.str();
  boost::json::object json = boost::json::parse(out_.str()).as_object();
  EXPECT_EQ(json["calls"].as_int64(), 9);
  EXPECT_EQ(json["monthly_limit"].as_int64(), 1000);
  EXPECT_EQ(json["remaining"].as_int64(), 991);
  EXPECT_EQ(json["period_start"].as_int64(), kStartTime + 30 * 24 * 3600);
  ASSERT_EQ(json["keys"].as_array().size(), 2u);
  boost::json::object first = json["keys"].as_array()[0].as_object();
  EXPECT_EQ(first["total_requests"].as_int64(), 10);
  EXPECT_EQ(first["failed_requests"].as_int64(), 3);
  EXPECT_EQ(first["name"].as_string(), "a");

  ASSERT_EQ(run({"orgs", "usage", "acme"}), kExitOk) << err_.str();
  const std::string text = out_.str();
  EXPECT_NE(text.find("calls          9\n"), std::string::npos) << text;
  EXPECT_NE(text.find("monthly limit  1000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("remaining      991\n"), std::string::npos) << text;
  EXPECT_NE(text.find("REQUESTS"), std::string::npos) << text;

  EXPECT_EQ(run({"orgs", "usage", "nobody"}), kExitRefused);
  EXPECT_NE(err_.str().find("no org nobody"), std::string::npos) << err_.str();
}

TEST_F(UsageCliTest, KeyUsageAndTheUsageBlockOfKeysShow) {
  const std::string a = create_key("a");
  record(a, 3, 1, 0);

  ASSERT_EQ(run({"keys", "usage", a, "--json"}), kExitOk) << err_.str();
  boost::json::object json = boost::json::parse(out_.str()).as_object();
  EXPECT_EQ(json["total_requests"].as_int64(), 4);
  EXPECT_EQ(json["successful_requests"].as_int64(), 3);
  EXPECT_EQ(json["client_error_requests"].as_int64(), 1);
  EXPECT_EQ(json["last_client_ip"].as_string(), "192.0.2.10");

  ASSERT_EQ(run({"keys", "show", a}), kExitOk) << err_.str();
  const std::string text = out_.str();
  EXPECT_NE(text.find("name"), std::string::npos);
  const auto usage = text.find("usage\n");
  ASSERT_NE(usage, std::string::npos) << text;
  EXPECT_NE(text.find("  requests        4\n", usage), std::string::npos) << text;
  EXPECT_NE(text.find("  failed          1 (4xx 1, 5xx 0)\n", usage), std::string::npos) << text;
  EXPECT_NE(text.find("  last client ip  192.0.2.10\n", usage), std::string::npos) << text;

  // The JSON form of `keys show` stays one record, parseable as before.
  ASSERT_EQ(run({"keys", "show", a, "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(boost::json::parse(out_.str()).as_object()["last_used_at"].as_int64(), kStartTime);

  // A failing `keys show` fails alone: no usage block after the error.
  EXPECT_EQ(run({"keys", "show", "key_000000000000000000000000"}), kExitRefused);
  EXPECT_EQ(out_.str().find("usage"), std::string::npos);
}

}  // namespace
}  // namespace keygate::auth
