// Reload honesty: a reload applies what it can live and names every changed setting that only
// a restart applies, in the log, in /readyz and in keygate_config_reload_pending_restart.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;

std::string config(std::uint16_t upstream_port, const std::string& threads,
                   const std::string& listener_port, const std::string& extra_route = "") {
  return "threads: " + threads + R"(
listeners: [{address: 127.0.0.1, port: )" +
         listener_port + R"(}]
admin: {address: 127.0.0.1, port: 0}
upstreams: [{name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}]
routes:
)" + extra_route +
         R"(  - {name: all, match: {path_prefix: /}, upstream: api, auth: none}
access_log: {enabled: false}
limits: {shutdown_delay: 0s}
store: {kind: file, file: keys.json}
)";
}

KeygateOptions with_keys_file() {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  return options;
}

std::string metrics(const KeygateProcess& keygate) {
  return http_get(keygate.admin_port(), "/metrics").body;
}

TEST(Reload, SettingsThatNeedARestartAreNamedNotClaimed) {
  EchoUpstream upstream;
  KeygateProcess keygate(config(upstream.port(), "1", "0"), with_keys_file());
  const auto port = keygate.proxy_port();
  ASSERT_EQ(http_get(port, "/keyed/x").status, 200);
  EXPECT_NE(metrics(keygate).find("keygate_config_reload_pending_restart 0"), std::string::npos);

  // A new route (live) with a new listener port and thread count (restart).
  auto mark = keygate.stderr_mark();
  keygate.rewrite_config(
      config(upstream.port(), "2", "18099",
             "  - {name: keyed, match: {path_prefix: /keyed/}, upstream: api}\n"));
  ASSERT_TRUE(keygate.wait_for_log("configuration reloaded, except", 10s, mark));
  EXPECT_EQ(keygate.log_lines("listeners: needs a restart", mark).size(), 1u);
  EXPECT_EQ(keygate.log_lines("threads: needs a restart", mark).size(), 1u);
  EXPECT_TRUE(keygate.log_lines("\"msg\":\"configuration reloaded\"", mark).empty());
  // The live part is in force: the new route wants a key.
  EXPECT_EQ(http_get(port, "/keyed/x").status, 401);
  EXPECT_EQ(http_get(port, "/").status, 200);  // still on the old listener
  auto ready = http_get(keygate.admin_port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find(R"("pending_restart":["threads","listeners"])"), std::string::npos)
      << ready.body;
  const auto text = metrics(keygate);
  EXPECT_NE(text.find("keygate_config_reload_pending_restart 2"), std::string::npos);
  EXPECT_NE(text.find(R"(keygate_config_reloads_total{result="ok"} 1)"), std::string::npos);

  // Putting them back (SIGHUP this time) clears the report.
  mark = keygate.stderr_mark();
  keygate.rewrite_config(config(upstream.port(), "1", "0"));
  ASSERT_TRUE(keygate.wait_for_log("\"msg\":\"configuration reloaded\"", 10s, mark));
  mark = keygate.stderr_mark();
  ASSERT_TRUE(keygate.signal(SIGHUP));
  ASSERT_TRUE(keygate.wait_for_log("\"msg\":\"configuration reloaded\"", 10s, mark));
  EXPECT_TRUE(keygate.log_lines("needs a restart", mark).empty());
  ready = http_get(keygate.admin_port(), "/readyz");
  EXPECT_EQ(ready.body.find("pending_restart"), std::string::npos) << ready.body;
  EXPECT_NE(metrics(keygate).find("keygate_config_reload_pending_restart 0"), std::string::npos);
}

TEST(Reload, ARefusedReloadIsCountedAndChangesNothing) {
  EchoUpstream upstream;
  KeygateProcess keygate(config(upstream.port(), "1", "0"), with_keys_file());
  const auto mark = keygate.stderr_mark();
  keygate.rewrite_config("threads: [not valid");
  ASSERT_TRUE(keygate.wait_for_log("reload refused", 10s, mark));
  const auto text = metrics(keygate);
  EXPECT_NE(text.find(R"(keygate_config_reloads_total{result="failed"} 1)"), std::string::npos);
  EXPECT_NE(text.find("keygate_config_reload_pending_restart 0"), std::string::npos);
  EXPECT_EQ(http_get(keygate.proxy_port(), "/").status, 200);
}

// threads: 0 takes the CPU quota or the cores, and says which.
TEST(Workers, TheCountAndWhereItCameFromAreLogged) {
  EchoUpstream upstream;
  KeygateProcess keygate(config(upstream.port(), "0", "0"), with_keys_file());
  const auto lines = keygate.log_lines("\"msg\":\"workers\"");
  ASSERT_EQ(lines.size(), 1u) << keygate.stderr_text();
  EXPECT_TRUE(lines[0].find("\"from\":\"hardware_concurrency\"") != std::string::npos ||
              lines[0].find("\"from\":\"/sys/fs/cgroup") != std::string::npos)
      << lines[0];
  KeygateProcess fixed(config(upstream.port(), "3", "0"), with_keys_file());
  const auto fixed_lines = fixed.log_lines("\"msg\":\"workers\"");
  ASSERT_EQ(fixed_lines.size(), 1u);
  EXPECT_NE(fixed_lines[0].find(R"("threads":"3","from":"threads")"), std::string::npos)
      << fixed_lines[0];
}

}  // namespace
}  // namespace keygate::testing
