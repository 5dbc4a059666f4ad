// `keygate check-config` runs the start-up checks `serve` runs on the files and environment
// variables the configuration refers to, and names the missing one; `serve` refuses the same.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

constexpr const char* kBase = R"(listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams: [{name: api, url: "http://127.0.0.1:3000"}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
)";
constexpr const char* kFileStore = "store: {kind: file, file: keys.json}\n";

struct Checked {
  CliResult result;
  std::string dir;
  Checked() = default;
  Checked(Checked&& other) noexcept : result(std::move(other.result)), dir(std::move(other.dir)) {
    other.dir.clear();
  }
  ~Checked() {
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
};

Checked check(const std::string& yaml, const EnvVars& env = {},
              const std::vector<std::pair<std::string, std::string>>& files = {}) {
  Checked out;
  out.dir = make_temp_dir("check-config");
  for (const auto& [name, content] : files) write_text_file(out.dir + "/" + name, content);
  write_text_file(out.dir + "/keygate.yaml", yaml);
  out.result = run_keygate_cli({"check-config", "--config", out.dir + "/keygate.yaml"}, env);
  return out;
}

void expect_refused(const Checked& checked, const std::string& setting, const std::string& names) {
  EXPECT_EQ(checked.result.exit_code, 1) << checked.result.stdout_text;
  const auto& err = checked.result.stderr_text;
  EXPECT_NE(err.find(setting + ": "), std::string::npos) << err;
  EXPECT_NE(err.find(names), std::string::npos) << err;
  EXPECT_EQ(checked.result.stdout_text.find(": ok"), std::string::npos);
}

TEST(CheckConfig, AMissingPepperFileIsNamed) {
  auto checked = check(std::string(kBase) + kFileStore +
                       "keys: {hash: hmac-sha256, pepper_file: /nonexistent/pepper}\n");
  expect_refused(checked, "keys.pepper_file", "/nonexistent/pepper");
  EXPECT_NE(checked.result.stderr_text.find("serve would refuse to start"), std::string::npos);
}

TEST(CheckConfig, AnUnsetPepperVariableIsNamed) {
  auto checked = check(std::string(kBase) + kFileStore +
                       "keys: {hash: hmac-sha256, pepper_env: KG_CHECK_PEPPER}\n");
  expect_refused(checked, "keys.pepper_env", "$KG_CHECK_PEPPER");
  auto fixed = check(
      std::string(kBase) + kFileStore + "keys: {hash: hmac-sha256, pepper_env: KG_CHECK_PEPPER}\n",
      {{"KG_CHECK_PEPPER", "pepper-value-long-enough"}});
  EXPECT_EQ(fixed.result.exit_code, 0) << fixed.result.stderr_text;
}

TEST(CheckConfig, AMissingAdminTokenFileIsNamed) {
  std::string yaml = std::string(kBase) + kFileStore;
  yaml.replace(yaml.find("admin: {address: 127.0.0.1, port: 0}"),
               std::string("admin: {address: 127.0.0.1, port: 0}").size(),
               "admin: {address: 127.0.0.1, port: 0, token_file: admin.token}");
  auto checked = check(yaml);
  expect_refused(checked, "admin.token_file", checked.dir + "/admin.token");
  auto fixed = check(yaml, {}, {{"admin.token", "a-token\n"}});
  EXPECT_EQ(fixed.result.exit_code, 0) << fixed.result.stderr_text;
}

TEST(CheckConfig, AnUnsetAdminTokenVariableIsNamed) {
  std::string yaml = std::string(kBase) + kFileStore;
  yaml.replace(yaml.find("admin: {address: 127.0.0.1, port: 0}"),
               std::string("admin: {address: 127.0.0.1, port: 0}").size(),
               "admin: {address: 127.0.0.1, port: 0, token_env: KG_CHECK_ADMIN_TOKEN}");
  expect_refused(check(yaml), "admin.token_env", "$KG_CHECK_ADMIN_TOKEN");
  EXPECT_EQ(check(yaml, {{"KG_CHECK_ADMIN_TOKEN", "t"}}).result.exit_code, 0);
}

TEST(CheckConfig, AKeyFileInAMissingDirectoryIsNamed) {
  auto checked =
      check(std::string(kBase) + "store: {kind: file, file: /nonexistent/dir/keys.json}\n");
  expect_refused(checked, "store.file", "/nonexistent/dir");
  // A missing file in an existing directory is an empty store, as serve treats it.
  EXPECT_EQ(check(std::string(kBase) + kFileStore).result.exit_code, 0);
}

TEST(CheckConfig, ACorruptKeyFileIsNamed) {
  auto checked = check(std::string(kBase) + kFileStore, {}, {{"keys.json", "{not json"}});
  expect_refused(checked, "store.file", "keys.json");
}

TEST(CheckConfig, AnUnsetRedisPasswordVariableIsNamed) {
  const std::string yaml =
      std::string(kBase) +
      "store: {kind: redis, redis: {host: 127.0.0.1, port: 6379, password_env: KG_CHECK_REDIS}}\n";
  expect_refused(check(yaml), "store.redis.password_env", "$KG_CHECK_REDIS");
  EXPECT_EQ(check(yaml, {{"KG_CHECK_REDIS", "secret"}}).result.exit_code, 0);
}

TEST(CheckConfig, AnAccessLogInAMissingDirectoryIsNamed) {
  auto checked =
      check(std::string(kBase) + kFileStore + "access_log: {path: /nonexistent/access.log}\n");
  expect_refused(checked, "access_log.path", "/nonexistent");
}

TEST(CheckConfig, EveryProblemIsListedAtOnce) {
  auto checked = check(std::string(kBase) +
                       "store: {kind: redis, redis: {host: 127.0.0.1, password_env: KG_CHECK_R}}\n"
                       "keys: {hash: hmac-sha256, pepper_file: /nonexistent/pepper}\n");
  expect_refused(checked, "keys.pepper_file", "/nonexistent/pepper");
  expect_refused(checked, "store.redis.password_env", "$KG_CHECK_R");
}

// What check-config refuses, serve refuses too, with the same words.
TEST(CheckConfig, ServeRefusesWhatCheckConfigRefuses) {
  for (const std::string extra :
       {"keys: {hash: hmac-sha256, pepper_file: /nonexistent/pepper}\n",
        "store: {kind: redis, redis: {host: 127.0.0.1, password_env: KG_CHECK_SERVE}}\n"}) {
    std::string yaml = std::string(kBase) + extra;
    if (extra.find("store:") == std::string::npos) yaml += kFileStore;
    KeygateOptions options;
    options.wait_ready = false;
    options.dump_stderr_on_failure = false;
    KeygateProcess keygate(yaml, options);
    auto status = keygate.wait_exit();
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
    const std::string names =
        extra.find("pepper") != std::string::npos ? "/nonexistent/pepper" : "$KG_CHECK_SERVE";
    EXPECT_FALSE(keygate.log_lines(names).empty()) << keygate.stderr_text();
    EXPECT_FALSE(keygate.log_lines("cannot start").empty()) << keygate.stderr_text();
  }
}

}  // namespace
}  // namespace keygate::testing
