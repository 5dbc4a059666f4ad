// keygate on a real 3-master Redis Cluster (store kind redis: key records, rate limits and
// usage all on the cluster): keys created with the CLI work on four sidecars, a revocation
// reaches every sidecar within 100 ms, limits are exact for orgs whose counters sit on
// different masters, and a slot migration under traffic changes no answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "redis/cluster_slot.h"
#include "tests/integration/fleet_load.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_cluster.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string config(std::uint16_t upstream_port, const std::vector<std::string>& seeds) {
  std::string seed_list;
  for (const auto& seed : seeds) seed_list += (seed_list.empty() ? "\"" : ", \"") + seed + "\"";
  return R"(threads: 2
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams:
  - {name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}
routes:
  - {name: fixed, match: {path_prefix: /fixed/}, upstream: api, rate_limits: [fixed-50, org-80]}
  - {name: ping, match: {path_prefix: /ping/}, upstream: api}
  - {name: closed, match: {path_prefix: /closed/}, upstream: api, rate_limits: [big], rate_limit_failure: fail_closed}
  - {name: sliding, match: {path_prefix: /sliding/}, upstream: api, rate_limits: [sliding-30]}
keys:
  plans: [{name: enterprise, max_keys: unlimited}]
  default_plan: enterprise
rate_limits:
  policies:
    - {name: fixed-50, per: key, algorithm: fixed_window, limit: 50, window: 1h}
    - {name: org-80, per: org, algorithm: token_bucket, limit: 80, window: 1h}
    - {name: sliding-30, per: key, algorithm: sliding_window, limit: 30, window: 1h}
    - {name: big, per: key, algorithm: fixed_window, limit: 1000000, window: 1h}
store:
  kind: redis
  redis:
    cluster: {seeds: [)" +
         seed_list + R"(]}
    command_timeout: 500ms
    limiter_timeout: 200ms
    reconnect_min: 20ms
    reconnect_max: 200ms
)";
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

class ClusterFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 4; ++i)
      sidecars_.push_back(
          std::make_unique<KeygateProcess>(config(upstream_.port(), cluster_.seeds())));
  }

  // A key of `org`, created with the CLI (through the cluster) and accepted by every sidecar.
  std::string key_known_everywhere(const std::string& org) {
    std::string key = create_key(sidecars_[0]->config_path(), org);
    for (const auto& sidecar : sidecars_) {
      auto deadline = Clock::now() + 10s;  // the negative cache may hold a miss this long
      while (
          http_get(sidecar->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + key}}).status !=
              200 &&
          Clock::now() < deadline) {
      }
    }
    return key;
  }

  RedisCluster cluster_;
  EchoUpstream upstream_;
  std::vector<std::unique_ptr<KeygateProcess>> sidecars_;
};

TEST_F(ClusterFleetTest, FourSidecarsAdmitExactlyTheLimitOnEveryMaster) {
  // Orgs whose hash tags land on three different masters.
  std::vector<std::string> orgs;
  std::set<int> masters;
  for (int i = 0; masters.size() < 3; ++i) {
    std::string org = "org" + std::to_string(i);
    int owner = cluster_.owner_of(redis::key_slot("{" + org + "}"));
    if (masters.insert(owner).second) orgs.push_back(org);
  }
  std::vector<std::string> raw_keys;
  for (const std::string& org : orgs) raw_keys.push_back(key_known_everywhere(org));
  for (int m = 0; m < cluster_.masters(); ++m) cluster_.master(m).command({"CONFIG", "RESETSTAT"});
  int requests = 0;
  for (std::size_t o = 0; o < orgs.size(); ++o) {
    const std::string& org = orgs[o];
    const std::string& key = raw_keys[o];
    requests += 300;
    Tally fixed = hammer(sidecars_, "/fixed/x", key, 200);
    EXPECT_EQ(fixed.other, 0) << org;
    EXPECT_EQ(fixed.admitted, 50) << org;
    Tally sliding = hammer(sidecars_, "/sliding/x", key, 100);
    EXPECT_EQ(sliding.other, 0) << org;
    EXPECT_EQ(sliding.admitted, 30) << org;
    // The counters are where the slot map says: on the master of the org's hash tag.
    const int owner = cluster_.owner_of(redis::key_slot("{" + org + "}"));
    redis::Reply keys = cluster_.master(owner).command({"KEYS", "kg:rl:{" + org + "}:*"});
    EXPECT_GE(keys.elements.size(), 2u) << org;
  }
  // Figures for docs/redis-schema.md ("Sizing a cluster"): script calls per request, and the
  // memory of one key record and one counter.
  long long evalsha = 0;
  for (int m = 0; m < cluster_.masters(); ++m) {
    const std::string info = cluster_.master(m).command({"INFO", "commandstats"}).str;
    std::smatch match;
    if (std::regex_search(info, match, std::regex(R"(cmdstat_evalsha:calls=(\d+))")))
      evalsha += std::stoll(match[1]);
  }
  EXPECT_GT(evalsha, 0);
  // At most one rate-limit script call per request, plus a key lookup per worker (4 sidecars,
  // 2 workers each) that had not cached the key yet.
  EXPECT_LE(evalsha, requests + 4 * 2 * static_cast<long long>(raw_keys.size()));
  const int records = cluster_.owner_of(redis::key_slot("kg:{records}:orgs"));
  redis::Reply record_names = cluster_.master(records).command({"KEYS", "kg:{records}:key:*"});
  ASSERT_FALSE(record_names.elements.empty());
  const auto record_bytes =
      cluster_.master(records).command({"MEMORY", "USAGE", record_names.elements[0].str}).integer;
  const int owner = cluster_.owner_of(redis::key_slot("{" + orgs[0] + "}"));
  redis::Reply counters = cluster_.master(owner).command({"KEYS", "kg:rl:{" + orgs[0] + "}:*"});
  ASSERT_FALSE(counters.elements.empty());
  long long counter_bytes = 0;
  for (const auto& name : counters.elements)
    counter_bytes = std::max<long long>(
        counter_bytes, cluster_.master(owner).command({"MEMORY", "USAGE", name.str}).integer);
  std::printf(
      "[ figures  ] cluster: %d requests, %lld EVALSHA (%.2f per request, lookups "
      "cached); key record %lld bytes, largest counter %lld bytes\n",
      requests, evalsha, static_cast<double>(evalsha) / requests,
      static_cast<long long>(record_bytes), counter_bytes);
}

TEST_F(ClusterFleetTest, KeysAreValidatedAndARevocationReachesEverySidecarFast) {
  const std::string key = key_known_everywhere("acme");
  for (const auto& sidecar : sidecars_)
    ASSERT_EQ(
        http_get(sidecar->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + key}}).status,
        200);
  const std::string wrong = key.substr(0, key.size() - 1) + (key.back() == 'a' ? "b" : "a");
  EXPECT_EQ(http_get(sidecars_[1]->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + wrong}})
                .status,
            401);
  // Records are in the one slot of the record prefix's hash tag.
  const int records = cluster_.owner_of(redis::key_slot("kg:{records}:orgs"));
  EXPECT_EQ(cluster_.master(records).command({"SISMEMBER", "kg:{records}:orgs", "acme"}).integer,
            1);

  auto result = run_keygate_cli({"keys", "revoke", "--config", sidecars_[0]->config_path(), key});
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  const auto revoked_at = Clock::now();
  std::vector<bool> refused(sidecars_.size(), false);
  double slowest_ms = 0;
  while (Clock::now() < revoked_at + 5s) {
    bool all = true;
    for (std::size_t i = 0; i < sidecars_.size(); ++i) {
      if (refused[i]) continue;
      if (http_get(sidecars_[i]->proxy_port(), "/ping/x", {{"Authorization", "Bearer " + key}})
              .status == 401) {
        refused[i] = true;
        slowest_ms =
            std::max(slowest_ms,
                     std::chrono::duration<double, std::milli>(Clock::now() - revoked_at).count());
      } else {
        all = false;
      }
    }
    if (all) break;
  }
  for (std::size_t i = 0; i < sidecars_.size(); ++i)
    EXPECT_TRUE(refused[i]) << "sidecar " << i << " kept accepting a revoked key";
  std::printf("[ figures  ] revocation on the cluster reached all 4 sidecars in %.1f ms\n",
              slowest_ms);
  EXPECT_LE(slowest_ms, 100.0);
}

TEST_F(ClusterFleetTest, SlotMigrationUnderTrafficChangesNoAnswer) {
  const std::string org = "migrating-org";
  const std::string key = key_known_everywhere(org);
  const std::uint16_t slot = redis::key_slot("{" + org + "}");
  const int from = cluster_.owner_of(slot);
  const int to = (from + 1) % cluster_.masters();
  Tally before{}, after{};
  std::thread traffic([&] { before = hammer(sidecars_, "/fixed/x", key, 30); });
  traffic.join();
  cluster_.begin_migration(slot, from, to);
  std::thread during([&] { after = hammer(sidecars_, "/fixed/x", key, 40); });
  cluster_.finish_migration(slot, to);
  during.join();
  Tally rest = hammer(sidecars_, "/fixed/x", key, 30);
  EXPECT_EQ(before.other + after.other + rest.other, 0);
  // 50 in all across the migration: no counter lost or charged twice.
  EXPECT_EQ(before.admitted + after.admitted + rest.admitted, 50)
      << "admitted before/during/after: " << before.admitted << "/" << after.admitted << "/"
      << rest.admitted;
  EXPECT_EQ(cluster_.owner_of(slot), to);
}

// A cluster with one replica per master; the master holding the records and the org's counters
// is killed under traffic and its replica promoted.
TEST(ClusterFailover, MasterKilledNoUnauthorizedAndLimitsResume) {
  RedisCluster cluster({3, true, 1000});
  EchoUpstream upstream;
  std::vector<std::unique_ptr<KeygateProcess>> sidecars;
  for (int i = 0; i < 2; ++i)
    sidecars.push_back(std::make_unique<KeygateProcess>(config(upstream.port(), cluster.seeds())));
  const int records = cluster.owner_of(redis::key_slot("kg:{records}:orgs"));
  std::string org;  // an org whose counters share the records' master
  for (int i = 0; org.empty(); ++i)
    if (cluster.owner_of(redis::key_slot("{o" + std::to_string(i) + "}")) == records)
      org = "o" + std::to_string(i);
  auto created = run_keygate_cli({"keys", "create", "--config", sidecars[0]->config_path(), "--org",
                                  org, "--name", "k", "--env", "live", "--type", "secret"});
  ASSERT_EQ(created.exit_code, 0) << created.stderr_text;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(created.stdout_text, match,
                                std::regex(R"(\b(sk_live_[0-9A-Za-z]{40})\b)")));
  const std::string key = match[1];
  const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + key}};
  // Every worker learns the key (connections are dealt round robin over 2 workers); a worker
  // that has not learnt the slot map yet answers 503, so poll.
  for (const auto& sidecar : sidecars) {
    int ok = 0;
    const auto ready_by = Clock::now() + 10s;
    while (ok < 4 && Clock::now() < ready_by)
      if (http_get(sidecar->proxy_port(), "/ping/x", auth).status == 200) ++ok;
    ASSERT_EQ(ok, 4) << "the key did not work on every worker";
  }

  std::atomic<bool> stop{false};
  std::atomic<int> unauthorized{0}, ping_ok{0}, closed_503{0}, closed_ok{0}, closed_other{0};
  const auto t0 = Clock::now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      auto client = std::make_unique<KeepAliveClient>(sidecars[c % 2]->proxy_port());
      while (!stop) {
        // keygate closes a connection after a 503: open a new one, as a real client would.
        if (!client->connected())
          client = std::make_unique<KeepAliveClient>(sidecars[c % 2]->proxy_port());
        auto ping = client->get("/ping/x", {{"Authorization", "Bearer " + key}});
        if (ping.status == 401) ++unauthorized;
        if (ping.status == 200) ++ping_ok;
        if (!client->connected())
          client = std::make_unique<KeepAliveClient>(sidecars[c % 2]->proxy_port());
        auto closed = client->get("/closed/x", {{"Authorization", "Bearer " + key}});
        if (closed.status == 401) ++unauthorized;
        if (closed.status != 200 && closed.status != 503) ++closed_other;
        if (closed.status == 200) ++closed_ok;
        if (closed.status == 503) {
          ++closed_503;
        }
      }
    });
  std::this_thread::sleep_for(300ms);  // traffic before the kill (a figure, not a readiness wait)
  const long long killed_ms = since();
  cluster.master(records).kill();
  // The replica takes over; wait (polling) until the cluster says so, then for traffic to settle.
  const auto deadline = Clock::now() + 30s;
  while (cluster.owner_of(redis::key_slot("kg:{records}:orgs")) == records &&
         Clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_NE(cluster.owner_of(redis::key_slot("kg:{records}:orgs")), records)
      << "no replica was promoted";
  const long long promoted_ms = since();
  // Limits resume once the workers have the new map and their circuit breakers have closed
  // again (rate_limits.breaker.open_for, 2 s by default): poll until checks are admitted by
  // every worker. New connections are dealt to a sidecar's two workers in turn, so four in a
  // row cover both twice; a worker still failing open would admit past the limit below.
  long long resumed_ms = -1;
  {
    const auto resume_by = Clock::now() + 20s;
    const auto admitted_by_every_worker = [&](const KeygateProcess& sidecar) {
      for (int i = 0; i < 4; ++i)
        if (http_get(sidecar.proxy_port(), "/closed/x", auth).status != 200) return false;
      return true;
    };
    while (Clock::now() < resume_by) {
      if (admitted_by_every_worker(*sidecars[0]) && admitted_by_every_worker(*sidecars[1])) {
        resumed_ms = since();
        break;
      }
    }
  }
  stop = true;
  for (auto& t : clients) t.join();

  EXPECT_EQ(unauthorized.load(), 0) << "a good key got 401 during the failover";
  EXPECT_GT(ping_ok.load(), 0);
  EXPECT_EQ(closed_other.load(), 0) << "only 200 or, during the outage, 503";
  ASSERT_GE(resumed_ms, 0) << "rate limits did not resume after the failover";
  const long long limit_outage = resumed_ms - killed_ms;
  std::printf(
      "[ figures  ] master killed under traffic: replica promoted after %lld ms; rate "
      "limits back after %lld ms (fail_closed 503 meanwhile: %d); 0 401s; cached "
      "keys kept working (%d pings ok)\n",
      promoted_ms - killed_ms, limit_outage, closed_503.load(), ping_ok.load());
  EXPECT_LT(limit_outage, 10000);
  // Limits resume, exact on a fresh counter.
  Tally after = hammer(sidecars, "/sliding/x", key, 60);
  EXPECT_EQ(after.other, 0);
  EXPECT_EQ(after.admitted, 30);
}

}  // namespace
}  // namespace keygate::testing
