// What keygate holds for connections that sit idle between requests: no buffers (they are
// released after each request and lent from a per-worker pool while a body moves).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;

TEST(MemoryTest, AnIdleKeepAliveConnectionHoldsNoBuffers) {
  EchoUpstream upstream;
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  KeygateProcess keygate(R"(threads: 1
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
access_log: {enabled: false}
upstreams: [{name: api, url: ")" +
                             upstream.url() + R"("}]
routes: [{match: {path_prefix: /}, upstream: api, auth: none}]
store: {kind: file, file: keys.json}
)",
                         options);
  // Warm up the allocator and the worker's pools, so that what grows below is per connection.
  for (int i = 0; i < 50; ++i) ASSERT_EQ(http_get(keygate.proxy_port(), "/warm").status, 200);
  const long before = measure_rss_kb(keygate.pid());

  constexpr int kConnections = 400;
  std::vector<std::unique_ptr<KeepAliveClient>> clients;
  for (int i = 0; i < kConnections; ++i) {
    auto client = std::make_unique<KeepAliveClient>(keygate.proxy_port());
    // Each moved a body both ways (64 KiB relay buffers, a grown read buffer).
    const auto res = client->request("POST", "/upload", {}, std::string(100 * 1024, 'x'));
    ASSERT_EQ(res.status, 200) << res.error;
    const auto download = client->get("/bytes?n=200000");
    ASSERT_EQ(download.body_bytes, 200000u);
    clients.push_back(std::move(client));
  }
  const long after = measure_rss_kb(keygate.pid());
  const double per_connection = (after - before) * 1024.0 / kConnections;
  std::printf("RSS %ld -> %ld KiB: %.0f bytes per idle connection\n", before, after,
              per_connection);
  // Holding the relay buffer would be over 64 KiB each; the target is 8 KiB.
  EXPECT_LT(per_connection, 8 * 1024.0);
  for (auto& client : clients) EXPECT_TRUE(client->connected());
}

}  // namespace
}  // namespace keygate::testing
