// keygate on a real Sentinel-managed Redis (1 master, 1 replica, 3 sentinels; store kind redis:
// key records, rate limits and usage all there). Keys created with the CLI are validated and a
// limit is enforced; then the master is killed (SIGKILL) under traffic and keygate follows the
// master the sentinels promote: no good key gets a 401 (one sidecar serves its keys from
// cache.stale_grace meanwhile), limits resume (exact) on the new master, a revocation still
// reaches every sidecar fast, and the time to recover is measured.
//
// The recovery bound. After a kill, the sentinels need down-after-milliseconds (1 s here) to
// call the master down, then agree, elect a leader and promote the replica (about 1-3 s more on
// loopback); that part is Redis's. keygate's part starts when the sentinels name the new master:
// the +switch-master announcement restarts every connection at once, so limits answer again
// after one connect + ROLE round trip plus, at most, the circuit breaker's open_for (500 ms
// here). The test asserts keygate's part below connect_timeout + open_for + 1 s of scheduling
// slack on a loaded machine (2.5 s), and the whole recovery below 20 s.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "tests/integration/fleet_load.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_sentinel.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr long long kConnectTimeoutMs = 1000;
constexpr long long kBreakerOpenForMs = 500;
constexpr long long kKeygatePartBoundMs = kConnectTimeoutMs + kBreakerOpenForMs + 1000;
constexpr long long kRecoveryBoundMs = 20000;

// `extra` is appended (a cache section for one sidecar).
std::string config(std::uint16_t upstream_port, const RedisSentinelGroup& group,
                   const std::string& extra = {}) {
  std::string sentinels;
  for (const auto& address : group.sentinel_addresses())
    sentinels += (sentinels.empty() ? "\"" : ", \"") + address + "\"";
  return R"(threads: 2
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams:
  - {name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}
routes:
  - {name: ping, match: {path_prefix: /ping/}, upstream: api}
  - {name: closed, match: {path_prefix: /closed/}, upstream: api, rate_limits: [big], rate_limit_failure: fail_closed}
  - {name: before, match: {path_prefix: /before/}, upstream: api, rate_limits: [before-30]}
  - {name: after, match: {path_prefix: /after/}, upstream: api, rate_limits: [after-30], rate_limit_failure: fail_closed}
keys:
  plans: [{name: enterprise, max_keys: unlimited}]
  default_plan: enterprise
rate_limits:
  breaker: {open_for: )" +
         std::to_string(kBreakerOpenForMs) + R"(ms}
  policies:
    - {name: before-30, per: key, algorithm: fixed_window, limit: 30, window: 1h}
    - {name: after-30, per: key, algorithm: sliding_window, limit: 30, window: 1h}
    - {name: big, per: key, algorithm: fixed_window, limit: 1000000, window: 1h}
store:
  kind: redis
  redis:
    sentinel: {master_name: )" +
         group.master_name() + ", sentinels: [" + sentinels + R"(]}
    command_timeout: 500ms
    limiter_timeout: 200ms
    connect_timeout: )" +
         std::to_string(kConnectTimeoutMs) + R"(ms
    reconnect_min: 20ms
    reconnect_max: 200ms
)" + extra;
}

std::string create_key(const std::string& config_path, const std::string& org) {
  auto result = run_keygate_cli({"keys", "create", "--config", config_path, "--org", org, "--name",
                                 "k", "--env", "live", "--type", "secret"});
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  std::smatch match;
  if (!std::regex_search(result.stdout_text, match, std::regex(R"(\b(sk_live_[0-9A-Za-z]{40})\b)")))
    ADD_FAILURE() << result.stdout_text;
  return match.size() > 1 ? std::string(match[1]) : std::string();
}

// Every worker of every sidecar accepts `key` (connections are dealt round robin over the
// workers, so a few successes in a row on fresh connections cover both).
void known_everywhere(const std::vector<std::unique_ptr<KeygateProcess>>& sidecars,
                      const std::string& key) {
  for (const auto& sidecar : sidecars) {
    int ok = 0;
    const auto deadline = Clock::now() + 10s;
    while (ok < 4 && Clock::now() < deadline)
      if (http_get(sidecar->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + key}}).status ==
          200)
        ++ok;
    ASSERT_EQ(ok, 4) << "the key did not work on every worker";
  }
}

// Every worker of every sidecar gets limits answered by Redis again (a fail_closed route
// answers 200); false after `limit`.
bool limits_answer_everywhere(const std::vector<std::unique_ptr<KeygateProcess>>& sidecars,
                              const std::string& key, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  for (const auto& sidecar : sidecars) {
    int in_a_row = 0;
    while (in_a_row < 4 && Clock::now() < deadline)
      in_a_row = http_get(sidecar->proxy_port(), "/closed/x", {{"Authorization", "Bearer " + key}})
                             .status == 200
                     ? in_a_row + 1
                     : 0;
    if (in_a_row < 4) return false;
  }
  return true;
}

long long ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

TEST(SentinelFailover, MasterKilledUnderTrafficKeygateFollowsTheNewMaster) {
  RedisSentinelGroup group;
  EchoUpstream upstream;
  std::vector<std::unique_ptr<KeygateProcess>> sidecars;
  for (int i = 0; i < 2; ++i)
    sidecars.push_back(std::make_unique<KeygateProcess>(
        config(upstream.port(), group,
               // The second sidecar's cached keys go stale within the outage: they must be served
               // from cache.stale_grace. The first keeps the default TTL (30 s), so its revocation
               // below can only come through pub/sub.
               i == 1 ? "cache: {positive_ttl: 300ms, stale_grace: 1h}\n" : "")));

  const std::string key = create_key(sidecars[0]->config_path(), "acme");
  ASSERT_FALSE(key.empty());
  // The CLI wrote through the sentinels to the master.
  EXPECT_EQ(group.server(0).command({"SISMEMBER", "kg:orgs", "acme"}).integer, 1);
  known_everywhere(sidecars, key);
  const std::string wrong = key.substr(0, key.size() - 1) + (key.back() == 'a' ? "b" : "a");
  EXPECT_EQ(
      http_get(sidecars[0]->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + wrong}}).status,
      401);
  Tally before = hammer(sidecars, "/before/x", key, 60);
  EXPECT_EQ(before.other, 0);
  EXPECT_EQ(before.admitted, 30) << "the limit is enforced on the first master";

  std::atomic<bool> stop{false};
  std::atomic<int> unauthorized{0}, ping_ok{0}, ping_503{0}, ping_other{0}, closed_ok{0},
      closed_503{0}, closed_other{0};
  std::atomic<long long> killed_at_ns{0};
  std::atomic<long long> recovered_at_ns{0};  // first /closed 200 sent after the kill
  auto now_ns = [] { return Clock::now().time_since_epoch().count(); };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      const std::uint16_t port = sidecars[c % 2]->proxy_port();
      auto client = std::make_unique<KeepAliveClient>(port);
      const std::vector<std::pair<std::string, std::string>> auth{
          {"Authorization", "Bearer " + key}};
      while (!stop) {
        // keygate closes a connection after a 503: open a new one, as a real client would.
        if (!client->connected()) client = std::make_unique<KeepAliveClient>(port);
        auto ping = client->get("/ping/x", auth);
        if (ping.status == 401) ++unauthorized;
        if (ping.status == 200)
          ++ping_ok;
        else if (ping.status == 503)
          ++ping_503;
        else
          ++ping_other;
        if (!client->connected()) client = std::make_unique<KeepAliveClient>(port);
        const long long sent = now_ns();
        auto closed = client->get("/closed/x", auth);
        if (closed.status == 401) ++unauthorized;
        if (closed.status == 200) {
          ++closed_ok;
          const long long killed = killed_at_ns.load();
          long long expected = 0;
          if (killed != 0 && sent > killed)
            recovered_at_ns.compare_exchange_strong(expected, now_ns());
        } else if (closed.status == 503) {
          ++closed_503;
        } else {
          ++closed_other;
        }
      }
    });
  // Wait for traffic to flow (polling a counter, not sleeping for readiness).
  {
    const auto deadline = Clock::now() + 10s;
    while (closed_ok.load() < 50 && Clock::now() < deadline) std::this_thread::yield();
  }
  ASSERT_GE(closed_ok.load(), 50);

  const auto killed = Clock::now();
  const int ping_ok_at_kill = ping_ok.load();
  group.server(0).kill();  // SIGKILL, and reaped: nothing can answer from it any more
  killed_at_ns = Clock::now().time_since_epoch().count();
  // The sentinels' part: until they name the replica master (polled).
  ASSERT_TRUE(group.wait_for_master(1, 30000)) << "no failover: the sentinels never promoted";
  const auto switched = Clock::now();
  const int pings_during_outage = ping_ok.load() - ping_ok_at_kill;
  // keygate's part: until a rate-limited request succeeds again.
  {
    const auto deadline = Clock::now() + 20s;
    while (recovered_at_ns.load() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  }
  stop = true;
  for (auto& t : clients) t.join();
  ASSERT_NE(recovered_at_ns.load(), 0) << "rate-limited requests never succeeded again";
  const auto recovered = Clock::time_point(Clock::duration(recovered_at_ns.load()));

  EXPECT_EQ(unauthorized.load(), 0) << "a good key got 401 during the failover";
  EXPECT_EQ(closed_other.load(), 0) << "only 200 or, during the outage, 503";
  // A cached key keeps working while there is no master. (After the failover the subscriber's
  // resubscription empties the cache, as after any reconnection: a worker whose connection is
  // not back yet may then answer 503 for a moment; counted, never a 401.)
  EXPECT_GT(pings_during_outage, 0) << "the cached key stopped working without a master";
  const long long recovery_ms = ms_between(killed, recovered);
  const long long keygate_ms = std::max(0LL, ms_between(switched, recovered));
  std::printf(
      "[ figures  ] sentinel failover: master killed; sentinels named the replica after %lld ms; "
      "first rate-limited success on the new master %lld ms after the kill (keygate's part "
      "%lld ms, bound %lld); fail_closed 503s meanwhile: %d; %d 401s; pings ok %d (%d while "
      "there was no master), 503 %d, no answer %d\n",
      ms_between(killed, switched), recovery_ms, keygate_ms, kKeygatePartBoundMs, closed_503.load(),
      unauthorized.load(), ping_ok.load(), pings_during_outage, ping_503.load(), ping_other.load());
  EXPECT_LE(keygate_ms, kKeygatePartBoundMs);
  EXPECT_LE(recovery_ms, kRecoveryBoundMs);

  // The second sidecar served its stale entries while there was no master.
  {
    const std::string metrics = http_get(sidecars[1]->admin_port(), "/metrics").body;
    std::smatch match;
    ASSERT_TRUE(std::regex_search(
        metrics, match,
        std::regex(R"(keygate_key_cache_lookups_total\{result="stale_hit"\} (\d+))")))
        << metrics.substr(0, 2000);
    const long long stale_hits = std::stoll(match[1]);
    std::printf("[ figures  ] the short-TTL sidecar answered %lld requests from stale entries\n",
                stale_hits);
    EXPECT_GT(stale_hits, 0) << "stale_grace was not used during the outage";
  }

  // Limits resume on the new master, exact on a fresh counter, and the counters are there.
  ASSERT_TRUE(limits_answer_everywhere(sidecars, key, 10s))
      << "some worker's limits did not come back";
  std::printf("[ figures  ] every worker of both sidecars had limits back %lld ms after the kill\n",
              ms_between(killed, Clock::now()));
  Tally after = hammer(sidecars, "/after/x", key, 60);
  EXPECT_EQ(after.other, 0);
  EXPECT_EQ(after.admitted, 30);
  EXPECT_FALSE(group.server(1).command({"KEYS", "kg:rl:*"}).elements.empty());

  // Management goes to the new master too: a key created now is looked up there.
  const std::string second = create_key(sidecars[0]->config_path(), "acme");
  ASSERT_FALSE(second.empty());
  known_everywhere(sidecars, second);

  // A revocation is published on the new master and reaches every sidecar through its
  // re-made subscription, long before the cached entry (30 s) would expire.
  auto revoked = run_keygate_cli({"keys", "revoke", "--config", sidecars[0]->config_path(), key});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.stderr_text;
  const auto revoked_at = Clock::now();
  std::vector<bool> refused(sidecars.size(), false);
  long long slowest_ms = 0;
  while (Clock::now() < revoked_at + 5s &&
         std::find(refused.begin(), refused.end(), false) != refused.end()) {
    for (std::size_t i = 0; i < sidecars.size(); ++i) {
      if (refused[i]) continue;
      if (http_get(sidecars[i]->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + key}})
              .status == 401) {
        refused[i] = true;
        slowest_ms = std::max(slowest_ms, ms_between(revoked_at, Clock::now()));
      }
    }
  }
  for (std::size_t i = 0; i < sidecars.size(); ++i)
    EXPECT_TRUE(refused[i]) << "sidecar " << i << " kept accepting a revoked key";
  std::printf("[ figures  ] revocation after the failover reached both sidecars in %lld ms\n",
              slowest_ms);
  EXPECT_LE(slowest_ms, 1000);
  // The other key is untouched.
  EXPECT_EQ(http_get(sidecars[1]->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + second}})
                .status,
            200);
}

// `keygate check-config` accepts a Sentinel store without reaching it, and names a bad one.
TEST(SentinelCheckConfig, AcceptedAndRefusedWithTheReason) {
  const std::string base = R"(listeners: [{address: 127.0.0.1, port: 0}]
upstreams: [{name: api, url: "http://127.0.0.1:3000"}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
)";
  const std::string dir = make_temp_dir("check-sentinel");
  write_text_file(dir + "/good.yaml",
                  base +
                      "store: {kind: redis, redis: {sentinel: {master_name: mymaster, "
                      "sentinels: [\"10.0.0.1:26379\", \"10.0.0.2:26379\"]}}}\n");
  auto good = run_keygate_cli({"check-config", "--config", dir + "/good.yaml"});
  EXPECT_EQ(good.exit_code, 0) << good.stderr_text;
  EXPECT_NE(good.stdout_text.find(": ok"), std::string::npos) << good.stdout_text;
  write_text_file(dir + "/bad.yaml",
                  base +
                      "store: {kind: redis, redis: {host: r, sentinel: {master_name: m, "
                      "sentinels: [\"s\"]}}}\n");
  auto bad = run_keygate_cli({"check-config", "--config", dir + "/bad.yaml"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.stderr_text.find("store redis sentinel must be host:port, got 's'"),
            std::string::npos)
      << bad.stderr_text;
  EXPECT_NE(bad.stderr_text.find("store redis host cannot be combined with sentinel"),
            std::string::npos)
      << bad.stderr_text;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace keygate::testing
