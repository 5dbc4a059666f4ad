// A rolling update loses no request: on SIGTERM keygate reports not-ready on /readyz while it
// keeps accepting for limits.shutdown_delay, then stops accepting, finishes what is in flight
// and exits 0. The test plays the load balancer: client threads send steady traffic through
// keygate and stop sending new requests once the endpoint is removed, which happens some time
// (endpoint propagation, here 500 ms) after a readiness poll (the kubelet's job) saw 503.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string config(std::uint16_t upstream_port, const std::string& shutdown_delay) {
  return R"(threads: 2
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams: [{name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"("}]
routes: [{name: all, match: {path_prefix: /}, upstream: api, auth: none}]
limits: {shutdown_delay: )" +
         shutdown_delay + R"(, drain_timeout: 10s}
access_log: {enabled: false}
store: {kind: file, file: keys.json}
)";
}

KeygateOptions with_keys_file() {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  return options;
}

struct Tally {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  void record(const HttpResponse& res) {
    if (res.status == 200) {
      ++ok;
      return;
    }
    ++failed;
    std::lock_guard lock(mutex);
    failures.push_back(std::to_string(res.status) + " " + res.error);
  }
};

TEST(Shutdown, SteadyTrafficThroughSigtermLosesNoRequestAndExitsZero) {
  EchoUpstream upstream({.threads = 2, .record = false});
  KeygateProcess keygate(config(upstream.port(), "1500ms"), with_keys_file());
  const auto port = keygate.proxy_port();
  const auto admin = keygate.admin_port();

  std::atomic<bool> removed{false};  // the endpoint left the load balancer
  Tally tally;
  std::vector<std::thread> clients;
  // Keep-alive clients and clients that open a connection per request, as proxies do both.
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&, i] {
      std::unique_ptr<KeepAliveClient> conn;
      while (!removed.load()) {
        if (i % 2 == 0) {
          if (!conn || !conn->connected()) conn = std::make_unique<KeepAliveClient>(port);
          tally.record(conn->get("/steady?ms=5"));
        } else {
          tally.record(http_get(port, "/fresh"));
        }
      }
    });
  }
  // The load balancer: polls readiness, removes the endpoint 500 ms after it fails.
  std::atomic<bool> saw_ready{false};
  Clock::time_point not_ready_at{};
  std::string not_ready_body;
  int ok_at_not_ready = 0;
  std::thread prober([&] {
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline) {
      auto res = http_get(admin, "/readyz");
      if (res.status == 200) saw_ready = true;
      if (res.status == 503) {
        not_ready_at = Clock::now();
        not_ready_body = res.body;
        ok_at_not_ready = tally.ok.load();
        std::this_thread::sleep_for(500ms);  // endpoints catching up, traffic still coming
        removed = true;
        return;
      }
      std::this_thread::sleep_for(20ms);  // the probe period, not a wait for readiness
    }
    removed = true;
  });

  // Some traffic before the signal.
  const auto warmup_deadline = Clock::now() + 10s;
  while (tally.ok.load() < 200 && Clock::now() < warmup_deadline) std::this_thread::yield();
  ASSERT_GE(tally.ok.load(), 200);
  const auto sigterm_at = Clock::now();
  ASSERT_TRUE(keygate.signal(SIGTERM));
  prober.join();
  for (auto& client : clients) client.join();
  EXPECT_TRUE(saw_ready.load());
  ASSERT_TRUE(removed.load());
  EXPECT_NE(not_ready_body.find("shutting down"), std::string::npos) << not_ready_body;
  EXPECT_LT(not_ready_at - sigterm_at, 1s) << "readiness did not fail promptly";
  const int served_while_not_ready = tally.ok.load() - ok_at_not_ready;
  EXPECT_GT(served_while_not_ready, 20) << "traffic stopped being served before the delay ended";

  // Inside the delay: still not ready, still accepting new connections, and a request that
  // arrives now and is still running when the listener closes completes.
  EXPECT_EQ(http_get(admin, "/readyz").status, 503);
  EXPECT_EQ(http_get(port, "/late").status, 200);
  auto in_flight =
      std::async(std::launch::async, [port] { return http_get(port, "/slow?ms=1500"); });
  EXPECT_TRUE(keygate.wait_for_log("draining", 5s));
  const auto drain_after = Clock::now() - sigterm_at;
  EXPECT_GE(drain_after, 1400ms) << "stopped accepting before shutdown_delay";
  auto slow = in_flight.get();
  EXPECT_EQ(slow.status, 200) << slow.error;

  auto status = keygate.wait_exit(15s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_EQ(tally.failed.load(), 0) << ::testing::PrintToString(tally.failures);
  std::printf(
      "requests through SIGTERM: %d ok (%d while not ready), %d failed; listener closed %.0f ms "
      "after SIGTERM\n",
      tally.ok.load(), served_while_not_ready, tally.failed.load(),
      std::chrono::duration<double, std::milli>(drain_after).count());
  // After the drain nothing listens any more.
  EXPECT_NE(http_get(port, "/").status, 200);
}

TEST(Shutdown, ZeroDelayDrainsAtOnce) {
  EchoUpstream upstream;
  KeygateProcess keygate(config(upstream.port(), "0s"), with_keys_file());
  ASSERT_EQ(http_get(keygate.proxy_port(), "/").status, 200);
  const auto started = Clock::now();
  ASSERT_TRUE(keygate.signal(SIGTERM));
  auto status = keygate.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_LT(Clock::now() - started, 2s);
  EXPECT_TRUE(keygate.log_lines("still accepting").empty());
}

TEST(Shutdown, ASecondSigtermOrSigintSkipsTheDelay) {
  EchoUpstream upstream;
  for (int second : {SIGTERM, SIGINT}) {
    KeygateProcess keygate(config(upstream.port(), "60s"), with_keys_file());
    ASSERT_TRUE(keygate.signal(SIGTERM));
    ASSERT_TRUE(keygate.wait_for_log("still accepting", 5s));
    EXPECT_EQ(http_get(keygate.admin_port(), "/readyz").status, 503);
    EXPECT_EQ(http_get(keygate.proxy_port(), "/").status, 200);
    const auto started = Clock::now();
    ASSERT_TRUE(keygate.signal(second));
    auto status = keygate.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "signal " << second;
    EXPECT_EQ(*status, 0);
    EXPECT_LT(Clock::now() - started, 5s);
  }
}

TEST(Shutdown, SigintAloneDrainsAtOnce) {
  EchoUpstream upstream;
  KeygateProcess keygate(config(upstream.port(), "60s"), with_keys_file());
  const auto started = Clock::now();
  ASSERT_TRUE(keygate.signal(SIGINT));
  auto status = keygate.wait_exit(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  EXPECT_LT(Clock::now() - started, 5s);
}

}  // namespace
}  // namespace keygate::testing
