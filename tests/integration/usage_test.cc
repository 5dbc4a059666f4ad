// Usage recording end to end: the real keygate binary, a real upstream answering 2xx/4xx/5xx,
// the file store and a real redis-server. Counts match exactly after a flush and stay exact
// (no double counting) over further flushes; SIGTERM flushes what is still in memory; the CLI
// and the API show the same numbers; /metrics passes promtool; no raw key reaches a log.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/integration/admin_api_support.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_server.h"

namespace keygate::testing {
namespace {

namespace json = boost::json;

std::int64_t num(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value && value->is_int64() ? value->as_int64() : -1;
}

std::string str(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The value of one sample line of the Prometheus text ("name{labels} value"); -1 if absent.
double sample(const std::string& metrics, const std::string& series) {
  const auto at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

struct Expected {
  std::int64_t total = 0, ok = 0, client_errors = 0, server_errors = 0;
};

class UsageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void start(const std::string& usage_yaml) {
    std::string store = kFileStoreYaml;
    if (GetParam() == "redis") {
      redis_ = std::make_unique<RedisServer>();
      store = redis_store_yaml(redis_->port());
    }
    keygate_ = std::make_unique<KeygateProcess>(usage_config(upstream_.port(), store, usage_yaml),
                                                options_with_token());
    api_ = std::make_unique<AdminClient>(keygate_->admin_port());
    api_->json("POST", "/v1/orgs", R"({"id":"acme","plan":"starter"})", 201);
  }

  void TearDown() override {
    if (!keygate_) return;
    guard_.expect_absent("keygate stdout (access log)", keygate_->stdout_text());
    guard_.expect_absent("keygate stderr", keygate_->stderr_text());
    for (const std::string& text : cli_output_) guard_.expect_absent("CLI output", text);
  }

  // A new key of acme; returns {raw, id} once the proxy accepts it. The request that proves
  // it is accepted is a 200 on /ok/: one request in the key's counts.
  std::pair<std::string, std::string> new_key(const std::string& name) {
    json::object created = api_->json(
        "POST", "/v1/keys",
        R"({"org":"acme","name":")" + name + R"(","environment":"live","type":"secret"})", 201);
    const std::string raw = str(created, "key");
    guard_.add(raw);
    EXPECT_TRUE(eventually([&] { return send(raw, "/ok/ready") == 200; })) << "key never accepted";
    return {raw, str(created["record"].as_object(), "id")};
  }

  int send(const std::string& raw, const std::string& path) {
    return http_get(keygate_->proxy_port(), path, {{"Authorization", "Bearer " + raw}}).status;
  }

  // 13 requests with key A (ok 5, 4xx 5, 5xx 3; 11 of them reach the upstream), 1 with key B,
  // and two that belong to no key.
  void send_mix(const std::string& a, const std::string& b) {
    for (int i = 0; i < 4; ++i) ASSERT_EQ(send(a, "/ok/x"), 200);
    ASSERT_EQ(send(a, "/status/201"), 201);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(send(a, "/status/404"), 404);
    for (int i = 0; i < 2; ++i) ASSERT_EQ(send(a, "/status/500"), 500);
    ASSERT_EQ(send(a, "/status/503"), 503);
    // Refused by keygate itself (missing scope): the key's failure, not an org call.
    for (int i = 0; i < 2; ++i) ASSERT_EQ(send(a, "/admin-only/x"), 403);
    ASSERT_EQ(send(b, "/ok/y"), 200);
    // Not attributable to any key: counted nowhere.
    ASSERT_EQ(http_get(keygate_->proxy_port(), "/ok/anonymous").status, 401);
    ASSERT_EQ(send("sk_live_" + std::string(40, 'A'), "/ok/forged"), 401);
  }
  static constexpr Expected kKeyA{14, 6, 5, 3};  // with new_key()'s readiness request
  static constexpr Expected kKeyB{2, 2, 0, 0};
  static constexpr std::int64_t kOrgCalls = 14 - 2 + 2;  // forwarded requests of A and B

  void expect_usage(const json::object& usage, const Expected& expected) {
    EXPECT_EQ(num(usage, "total_requests"), expected.total);
    EXPECT_EQ(num(usage, "successful_requests"), expected.ok);
    EXPECT_EQ(num(usage, "failed_requests"), expected.total - expected.ok);
    EXPECT_EQ(num(usage, "client_error_requests"), expected.client_errors);
    EXPECT_EQ(num(usage, "server_error_requests"), expected.server_errors);
  }

  json::object key_usage(const std::string& id) {
    return api_->json("GET", "/v1/keys/" + id + "/usage");
  }

  double flushes() {
    return sample(http_get(keygate_->admin_port(), "/metrics").body,
                  R"(keygate_usage_flushes_total{result="ok"})");
  }

  CliResult run_cli(std::vector<std::string> args) {
    CliResult result = cli(keygate_->config_path(), std::move(args));
    cli_output_.push_back(result.stderr_text);
    // `keys create` is the one command that prints a raw key; none is run here.
    cli_output_.push_back(result.stdout_text);
    return result;
  }

  EchoUpstream upstream_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<KeygateProcess> keygate_;
  std::unique_ptr<AdminClient> api_;
  RawKeyGuard guard_;
  std::vector<std::string> cli_output_;
};

TEST_P(UsageTest, CountsMatchExactlyAfterAFlushAndStayExact) {
  start("{flush_interval: 100ms, last_used_interval: 1s}");
  auto [a, a_id] = new_key("a");
  auto [b, b_id] = new_key("b");
  send_mix(a, b);

  ASSERT_TRUE(eventually([&] {
    return num(key_usage(a_id), "total_requests") == kKeyA.total &&
           num(key_usage(b_id), "total_requests") == kKeyB.total;
  })) << json::serialize(key_usage(a_id));
  // Two more flushes must not change anything: nothing counted twice, nothing late.
  const double seen = flushes();
  ASSERT_TRUE(eventually([&] { return flushes() >= seen + 2; }));

  json::object usage_a = key_usage(a_id);
  expect_usage(usage_a, kKeyA);
  expect_usage(key_usage(b_id), kKeyB);
  EXPECT_EQ(str(usage_a, "last_client_ip"), "127.0.0.1");
  EXPECT_GT(num(usage_a, "last_used_at"), 0);

  json::object org = api_->json("GET", "/v1/orgs/acme/usage");
  EXPECT_EQ(num(org, "calls"), kOrgCalls);
  EXPECT_EQ(num(org, "monthly_limit"), 1000);
  EXPECT_EQ(num(org, "remaining"), 1000 - kOrgCalls);
  EXPECT_EQ(num(org, "period_end") - num(org, "period_start"), 30 * 24 * 3600);

  // The key record carries last_used_at too: what `keys list` and `keys show` print.
  ASSERT_TRUE(
      eventually([&] { return num(api_->json("GET", "/v1/keys/" + a_id), "last_used_at") > 0; }));

  // The CLI reads the same store.
  CliResult org_cli = run_cli({"orgs", "usage", "acme", "--json"});
  ASSERT_EQ(org_cli.exit_code, 0) << org_cli.stderr_text;
  json::object org_json = parse_json(org_cli.stdout_text).as_object();
  EXPECT_EQ(num(org_json, "calls"), kOrgCalls);
  EXPECT_EQ(num(org_json, "remaining"), 1000 - kOrgCalls);
  EXPECT_EQ(org_json["keys"].as_array().size(), 2u);
  CliResult key_cli = run_cli({"keys", "usage", a_id, "--json"});
  ASSERT_EQ(key_cli.exit_code, 0) << key_cli.stderr_text;
  expect_usage(parse_json(key_cli.stdout_text).as_object(), kKeyA);

  CliResult text = run_cli({"orgs", "usage", "acme"});
  EXPECT_NE(text.stdout_text.find("calls          " + std::to_string(kOrgCalls)), std::string::npos)
      << text.stdout_text;
  EXPECT_NE(text.stdout_text.find("monthly limit  1000"), std::string::npos) << text.stdout_text;
  CliResult show = run_cli({"keys", "show", a_id});
  ASSERT_EQ(show.exit_code, 0) << show.stderr_text;
  EXPECT_NE(show.stdout_text.find("requests        " + std::to_string(kKeyA.total)),
            std::string::npos)
      << show.stdout_text;
  EXPECT_NE(show.stdout_text.find("last client ip  127.0.0.1"), std::string::npos)
      << show.stdout_text;
  CliResult list = run_cli({"keys", "list", "--org", "acme"});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_EQ(list.stdout_text.find("never"), std::string::npos)
      << "both keys were used: " << list.stdout_text;
}

TEST_P(UsageTest, SigtermFlushesWhatIsStillInMemory) {
  // Nothing is flushed before shutdown: only the final flush can write these counts.
  start("{flush_interval: 1h, last_used_interval: 1h}");
  auto [a, a_id] = new_key("a");
  auto [b, b_id] = new_key("b");
  send_mix(a, b);
  EXPECT_EQ(num(key_usage(a_id), "total_requests"), 0);

  ASSERT_EQ(keygate_->terminate(std::chrono::seconds(20)), 0);
  EXPECT_TRUE(keygate_->wait_for_log("stopped", std::chrono::seconds(1)));

  CliResult key_cli = run_cli({"keys", "usage", a_id, "--json"});
  ASSERT_EQ(key_cli.exit_code, 0) << key_cli.stderr_text;
  json::object usage = parse_json(key_cli.stdout_text).as_object();
  expect_usage(usage, kKeyA);
  EXPECT_GT(num(usage, "last_used_at"), 0) << "the deferred last use is written at shutdown";
  CliResult org_cli = run_cli({"orgs", "usage", "acme", "--json"});
  ASSERT_EQ(org_cli.exit_code, 0) << org_cli.stderr_text;
  EXPECT_EQ(num(parse_json(org_cli.stdout_text).as_object(), "calls"), kOrgCalls);
  CliResult show = run_cli({"keys", "show", b_id, "--json"});
  EXPECT_GT(num(parse_json(show.stdout_text).as_object(), "last_used_at"), 0);
}

TEST_P(UsageTest, MetricsPassPromtoolAndCarryNoKeyIds) {
  start("{flush_interval: 100ms, last_used_interval: 1s}");
  auto [a, a_id] = new_key("a");
  auto [b, b_id] = new_key("b");
  send_mix(a, b);
  ASSERT_TRUE(eventually([&] { return num(key_usage(a_id), "total_requests") == kKeyA.total; }));

  const std::string metrics = http_get(keygate_->admin_port(), "/metrics").body;
  CliOptions options;
  options.stdin_data = metrics;
  CliResult promtool = run_command("/usr/bin/promtool", {"check", "metrics"}, {}, options);
  EXPECT_EQ(promtool.exit_code, 0) << promtool.stdout_text << promtool.stderr_text << metrics;

  for (const char* family :
       {"keygate_requests_total", "keygate_auth_decisions_total",
        "keygate_rate_limit_decisions_total", "keygate_key_store_lookup_duration_seconds",
        "keygate_upstream_duration_seconds", "keygate_key_cache_lookups_total",
        "keygate_key_invalidations_total", "keygate_usage_flush_lag_seconds",
        "keygate_usage_flushes_total"})
    EXPECT_NE(metrics.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  if (GetParam() == "redis") {
    for (const char* family : {"keygate_redis_errors_total", "keygate_redis_connections",
                               "keygate_rate_limit_circuit_state"})
      EXPECT_NE(metrics.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
    EXPECT_EQ(sample(metrics, R"(keygate_rate_limit_circuit_state{state="closed"})"), 2);
  }
  EXPECT_EQ(sample(metrics, R"(keygate_requests_total{route="status",class="5xx"})"), 3) << metrics;
  EXPECT_EQ(metrics.find(a_id), std::string::npos);
  EXPECT_EQ(metrics.find(b_id), std::string::npos);
  EXPECT_EQ(metrics.find("acme"), std::string::npos) << "no org ids as labels either";
  EXPECT_LT(sample(metrics, "keygate_usage_flush_lag_seconds"), 10);
}

INSTANTIATE_TEST_SUITE_P(Stores, UsageTest, ::testing::Values("file", "redis"),
                         [](const auto& info) { return info.param; });

// A usage outage (Redis not answering) keeps the counts in memory and writes them once it is
// back. SIGSTOP rather than a kill, so the key records survive; a script that timed out may
// still run when Redis resumes, which the batch id must absorb.
TEST(UsageOutage, CountsSurviveARedisOutage) {
  EchoUpstream upstream;
  RedisServer redis;
  KeygateProcess keygate(usage_config(upstream.port(), redis_store_yaml(redis.port()),
                                      "{flush_interval: 100ms, last_used_interval: 1s}"),
                         options_with_token());
  AdminClient api(keygate.admin_port());
  json::object created = api.json(
      "POST", "/v1/keys", R"({"org":"acme","name":"a","environment":"live","type":"secret"})", 201);
  const std::string raw = str(created, "key");
  const std::string id = str(created["record"].as_object(), "id");
  RawKeyGuard guard;
  guard.add(raw);
  auto send = [&] {
    return http_get(keygate.proxy_port(), "/ok/x", {{"Authorization", "Bearer " + raw}}).status;
  };
  ASSERT_TRUE(eventually([&] { return send() == 200; }));
  ASSERT_TRUE(eventually(
      [&] { return num(api.json("GET", "/v1/keys/" + id + "/usage"), "total_requests") == 1; }));

  redis.pause();
  // The key stays cached, and the rate limit fails open, so requests keep working and being
  // counted.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(send(), 200);
  ASSERT_TRUE(keygate.wait_for_log("usage flush failed"));
  redis.resume();
  ASSERT_TRUE(eventually([&] {
    HttpResponse res = AdminClient(keygate.admin_port()).call("GET", "/v1/keys/" + id + "/usage");
    return res.status == 200 && num(parse_json(res.body).as_object(), "total_requests") == 6;
  })) << "the counts recorded during the outage were lost";
  EXPECT_TRUE(keygate.wait_for_log("usage flush recovered"));
  guard.expect_absent("keygate logs", keygate.stdout_text() + keygate.stderr_text());
}

}  // namespace
}  // namespace keygate::testing
