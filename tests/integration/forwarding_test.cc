// The forwarding core over real sockets: the real keygate binary in front of a real upstream.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "tests/support/echo_upstream.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;

std::string config_for(std::uint16_t upstream_port, const std::string& extra_routes = "",
                       const std::string& extra = "") {
  return R"(threads: 1
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
upstreams:
  - {name: api, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"(", response_timeout: 3s, connect_timeout: 1s}
  - {name: down, url: "http://127.0.0.1:)" +
         std::to_string(pick_free_port()) + R"(", connect_timeout: 500ms}
  - {name: base, url: "http://127.0.0.1:)" +
         std::to_string(upstream_port) + R"(/base"}
routes:
  - {name: small, match: {path_prefix: /small/}, upstream: api, auth: none, max_body: 1KiB}
  - {name: down, match: {path_prefix: /down/}, upstream: down, auth: none}
  - {name: slowroute, match: {path_prefix: /slowroute/}, upstream: api, auth: none}
  - {name: stripped, match: {path_prefix: /svc/}, upstream: base, auth: none, strip_prefix: true}
  - {name: posts-only, match: {path: /only-post, methods: [POST]}, upstream: api, auth: none}
)" + extra_routes +
         R"(  - {name: all, match: {path_prefix: /}, upstream: api, auth: none}
limits: {max_header: 8KiB, max_body: 2GiB, client_header_timeout: 1s, idle_timeout: 5s, body_timeout: 5s, drain_timeout: 10s, shutdown_delay: 0s}
store: {kind: file, file: keys.json}
)" + extra;
}

KeygateOptions with_keys_file() {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  return options;
}

class ForwardingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keygate_ = std::make_unique<KeygateProcess>(config_for(upstream_.port()), with_keys_file());
  }
  std::uint16_t port() const { return keygate_->proxy_port(); }

  EchoUpstream upstream_;
  std::unique_ptr<KeygateProcess> keygate_;
};

TEST_F(ForwardingTest, ForwardsMethodPathQueryAndHeaders) {
  for (std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    upstream_.clear();
    auto res = http_request(port(), method, "/v2/items?x=1&y=two", {{"X-Custom", "abc"}},
                            method == "GET" ? "" : "payload");
    ASSERT_EQ(res.status, 200) << method << " " << res.error;
    ASSERT_TRUE(upstream_.wait_for_requests(1));
    auto seen = upstream_.last_request().value();
    EXPECT_EQ(seen.method, method);
    EXPECT_EQ(seen.target, "/v2/items?x=1&y=two");
    EXPECT_EQ(seen.header("x-custom").value_or(""), "abc");
    EXPECT_EQ(seen.header("x-forwarded-for").value_or(""), "127.0.0.1");
    EXPECT_EQ(seen.header("x-forwarded-proto").value_or(""), "http");
    EXPECT_TRUE(seen.has_header("x-forwarded-host"));
    EXPECT_EQ(seen.header("x-request-id").value_or("").size(), 32u);
    if (method != "GET") EXPECT_EQ(seen.body, "payload");
    // The response tells the client which request id was used.
    EXPECT_EQ(res.headers.value("x-request-id"), seen.header("x-request-id").value_or("-"));
  }
}

TEST_F(ForwardingTest, ClientRequestIdIsPassedOn) {
  auto res = http_get(port(), "/", {{"X-Request-Id", "trace-42"}});
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(upstream_.last_request()->header("x-request-id").value_or(""), "trace-42");
  EXPECT_EQ(res.headers.value("x-request-id"), "trace-42");
}

TEST_F(ForwardingTest, HopByHopHeadersAreRemovedBothWays) {
  auto res = http_get(port(), "/",
                      {{"Connection", "keep-alive, X-Secret-Hop"},
                       {"X-Secret-Hop", "1"},
                       {"Keep-Alive", "timeout=5"},
                       {"TE", "trailers"},
                       {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                       {"X-Echo-Set-Header", "Keep-Alive: timeout=99"}});
  ASSERT_EQ(res.status, 200);
  auto seen = upstream_.last_request().value();
  EXPECT_FALSE(seen.has_header("x-secret-hop"));
  EXPECT_FALSE(seen.has_header("keep-alive"));
  EXPECT_FALSE(seen.has_header("te"));
  EXPECT_FALSE(seen.has_header("proxy-authorization"));
  EXPECT_FALSE(res.headers.has("keep-alive"));
}

TEST_F(ForwardingTest, StripPrefixAndUpstreamBasePath) {
  auto res = http_get(port(), "/svc/users/7?q=1");
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(upstream_.last_request()->target, "/base/users/7?q=1");
}

TEST_F(ForwardingTest, MethodMismatchFallsThroughToLaterRoutes) {
  auto post = http_request(port(), "POST", "/only-post", {}, "x");
  ASSERT_EQ(post.status, 200);
  auto get = http_get(port(), "/only-post");
  ASSERT_EQ(get.status, 200);  // matched by the catch-all route
  EXPECT_EQ(upstream_.request_count(), 2u);
}

TEST_F(ForwardingTest, KeepAliveReusesBothConnections) {
  KeepAliveClient client(port());
  for (int i = 0; i < 20; ++i) {
    auto res = client.get("/ping?i=" + std::to_string(i));
    ASSERT_EQ(res.status, 200) << res.error;
    ASSERT_TRUE(res.keep_alive);
  }
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(upstream_.connection_count(), 1u);  // the upstream connection was pooled
}

// An idle connection's next request is first read into a small per-connection buffer (1 KiB):
// longer heads, and several requests sent at once, must arrive whole and in order.
TEST_F(ForwardingTest, HeadsLongerThanTheIdleReadAndPipelinedRequestsArriveWhole) {
  RawConnection raw(port());
  const std::string padding(3000, 'p');
  const std::string big = "GET /big HTTP/1.1\r\nHost: x\r\nX-Padding: " + padding + "\r\n\r\n";
  for (int round = 0; round < 2; ++round) {  // the second one comes to an idle connection
    ASSERT_TRUE(raw.send(big));
    const auto res = raw.read_response(10s);
    ASSERT_EQ(res.status, 200) << res.error;
    ASSERT_TRUE(upstream_.wait_for_requests(round + 1));
    EXPECT_EQ(upstream_.last_request()->header("x-padding").value_or(""), padding);
  }
  upstream_.clear();
  std::string pipelined;
  for (int i = 0; i < 3; ++i)
    pipelined += "GET /p" + std::to_string(i) +
                 " HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(500, 'q') + "\r\n\r\n";
  ASSERT_TRUE(raw.send(pipelined));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(raw.read_response(10s).status, 200) << i;
  ASSERT_TRUE(upstream_.wait_for_requests(3));
  const auto seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(seen[i].path(), "/p" + std::to_string(i));
}

TEST_F(ForwardingTest, Http10ClientGetsAnHttp10Answer) {
  RequestOptions options;
  options.version = 10;
  auto res = http_request(port(), "GET", "/", {}, "", options);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.version, 10u);
  EXPECT_FALSE(res.chunked);
}

// A response that fits keygate's one-write path but not a fresh connection's send buffer
// towards a client with a small receive window: the part the socket does not take at once
// must follow, intact.
TEST_F(ForwardingTest, SingleWriteResponseLargerThanTheSocketTakesArrivesWhole) {
  RawConnection raw(port(), 5s, /*receive_buffer_bytes=*/4096);
  ASSERT_TRUE(raw.send("GET /bytes?n=60000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = raw.read_response(10s, false, /*store_body=*/false);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body_bytes, 60000u);
  EXPECT_EQ(res.body_checksum, pattern_checksum(60000));
  ASSERT_TRUE(raw.send("GET /bytes?n=100 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(raw.read_response(10s).status, 200);  // the connection is still in step
}

TEST_F(ForwardingTest, HeadRequestHasNoBody) {
  RawConnection raw(port());
  ASSERT_TRUE(raw.send("HEAD /bytes?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = raw.read_response(5s, /*head_request=*/true);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.headers.value("content-length"), "5000");
  // The connection is still usable: the next response parses cleanly.
  ASSERT_TRUE(raw.send("GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(raw.read_response(5s).status, 204);
}

TEST_F(ForwardingTest, LargeDownloadAndUploadStreamWithFlatMemory) {
  const std::uint64_t size = 1ull << 30;  // 1 GiB each way
  const long rss_before = measure_rss_kb(keygate_->pid());
  RequestOptions options;
  options.store_body = false;
  options.timeout = 120s;
  auto down = http_request(port(), "GET", "/bytes?n=" + std::to_string(size), {}, "", options);
  ASSERT_EQ(down.status, 200) << down.error;
  EXPECT_EQ(down.body_bytes, size);
  EXPECT_EQ(down.body_checksum, pattern_checksum(size));

  options.generated_body_bytes = size;
  options.store_body = true;  // the answer is a small JSON document
  auto up = http_request(port(), "POST", "/upload", {}, "", options);
  ASSERT_EQ(up.status, 200) << up.error;
  EXPECT_NE(up.body.find("\"body_bytes\":" + std::to_string(size)), std::string::npos) << up.body;
  const long rss_after = measure_rss_kb(keygate_->pid());
  ASSERT_GT(rss_before, 0);
  EXPECT_LT(rss_after - rss_before, 32 * 1024)
      << "RSS grew from " << rss_before << " KiB to " << rss_after << " KiB";
}

TEST_F(ForwardingTest, ChunkedBodiesBothWays) {
  RequestOptions options;
  options.chunked = true;
  options.generated_body_bytes = 3 * 1024 * 1024 + 17;
  auto up = http_request(port(), "POST", "/upload", {}, "", options);
  ASSERT_EQ(up.status, 200) << up.error;
  auto seen = upstream_.last_request().value();
  EXPECT_TRUE(seen.chunked);
  EXPECT_EQ(seen.body_bytes, 3u * 1024 * 1024 + 17);
  EXPECT_EQ(seen.body_checksum, pattern_checksum(3 * 1024 * 1024 + 17));

  auto down = http_get(port(), "/bytes?n=100000&chunked=1");
  ASSERT_EQ(down.status, 200) << down.body;
  EXPECT_TRUE(down.chunked);
  EXPECT_EQ(down.body_bytes, 100000u);
  EXPECT_EQ(down.body_checksum, pattern_checksum(100000));
}

// Reads from `raw` until `needle` has arrived or `timeout` passes; returns all it read.
std::string read_until(RawConnection& raw, std::string_view needle,
                       std::chrono::milliseconds timeout) {
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    const auto piece = raw.read_some(left);
    if (piece.empty() && raw.peer_closed()) break;
    seen += piece;
  }
  return seen;
}

TEST_F(ForwardingTest, LastChunkArrivingAloneEndsTheBodyOnce) {
  RawConnection raw(port());
  const std::string first_part =
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
  // The last-chunk comes 300 ms after the data, so keygate relays it on its own.
  ASSERT_TRUE(raw.send_slowly(first_part + "0\r\n\r\n", first_part.size(), 300ms));
  auto upload = raw.read_response(10s);
  ASSERT_EQ(upload.status, 200) << upload.error;
  EXPECT_NE(upload.body.find("\"body_bytes\":5"), std::string::npos) << upload.body;
  // The pooled upstream connection carries the next request: nothing extra may precede it.
  ASSERT_TRUE(raw.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto after = raw.read_response(10s);
  EXPECT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(upstream_.request_count(), 2u);
}

TEST_F(ForwardingTest, StreamedBodyIsPassedOnAsItArrives) {
  RawConnection raw(port());
  ASSERT_TRUE(raw.send("GET /stream?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  // The upstream holds its last piece back for 3 s: the head and the first piece must not
  // wait for it.
  const auto first = read_until(raw, "first\n", 2500ms);
  EXPECT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  EXPECT_NE(first.find("first\n"), std::string::npos) << first;
  EXPECT_EQ(first.find("last\n"), std::string::npos) << first;
  // Then the rest, up to the last chunk.
  const auto rest = read_until(raw, "0\r\n\r\n", 10s);
  EXPECT_NE((first + rest).find("last\n"), std::string::npos) << rest;
  EXPECT_NE(rest.find("0\r\n\r\n"), std::string::npos) << rest;
}

TEST_F(ForwardingTest, ExpectContinueIsAnsweredAndBodyForwarded) {
  RequestOptions options;
  options.expect_continue = true;
  auto res = http_request(port(), "POST", "/upload", {}, std::string(5000, 'z'), options);
  ASSERT_EQ(res.status, 200) << res.error;
  ASSERT_EQ(res.interim_statuses.size(), 1u);
  EXPECT_EQ(res.interim_statuses[0], 100);
  EXPECT_EQ(upstream_.last_request()->body_bytes, 5000u);
}

TEST_F(ForwardingTest, WebSocketUpgradeIsTunnelled) {
  WebSocketClient ws(port(), "/ws");
  ASSERT_TRUE(ws.connected()) << ws.error() << " status " << ws.handshake_status();
  for (int i = 0; i < 5; ++i) {
    auto echoed = ws.echo("hello " + std::to_string(i));
    ASSERT_TRUE(echoed.has_value());
    EXPECT_EQ(*echoed, "hello " + std::to_string(i));
  }
  EXPECT_TRUE(ws.close());
  EXPECT_EQ(upstream_.websocket_message_count(), 5u);
}

void expect_json_error(const HttpResponse& res, int status, const std::string& code) {
  EXPECT_EQ(res.status, status) << res.body;
  EXPECT_EQ(res.headers.value("content-type"), "application/json");
  EXPECT_NE(res.body.find("\"code\":\"" + code + "\""), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"type\":"), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("\"message\":"), std::string::npos) << res.body;
}

TEST(ForwardingErrors, NoRouteIs404Json) {
  EchoUpstream upstream;
  // A config without a catch-all route.
  std::string yaml = config_for(upstream.port());
  yaml.replace(yaml.find("  - {name: all"), yaml.find("limits:") - yaml.find("  - {name: all"), "");
  KeygateProcess keygate(yaml, with_keys_file());
  expect_json_error(http_get(keygate.proxy_port(), "/nowhere"), 404, "route_not_found");

  // keygate's own answers follow each version's keep-alive rules.
  RawConnection http10(keygate.proxy_port());
  ASSERT_TRUE(http10.send("GET /nowhere HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
  auto first = http10.read_response(10s);
  EXPECT_EQ(first.status, 404);
  EXPECT_EQ(first.version, 10u);
  EXPECT_EQ(first.headers.value("connection"), "keep-alive");
  EXPECT_EQ(first.headers.value("content-length"), std::to_string(first.body.size()));
  ASSERT_TRUE(http10.send("GET /nowhere HTTP/1.0\r\nHost: x\r\n\r\n"));
  auto second = http10.read_response(10s);
  EXPECT_EQ(second.status, 404);
  EXPECT_FALSE(second.headers.has("connection"));
  EXPECT_TRUE(http10.wait_closed(10s));

  RawConnection http11(keygate.proxy_port());
  ASSERT_TRUE(http11.send("GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto closing = http11.read_response(10s);
  EXPECT_EQ(closing.status, 404);
  EXPECT_EQ(closing.headers.value("connection"), "close");
  EXPECT_TRUE(http11.wait_closed(10s));
}

TEST_F(ForwardingTest, BodyOverRouteLimitIs413) {
  expect_json_error(http_request(port(), "POST", "/small/x", {}, std::string(2000, 'a')), 413,
                    "payload_too_large");
  EXPECT_EQ(upstream_.request_count(), 0u);
  // Chunked: the size is only known while streaming.
  RequestOptions options;
  options.chunked = true;
  options.generated_body_bytes = 5000;
  auto res = http_request(port(), "POST", "/small/y", {}, "", options);
  EXPECT_EQ(res.status, 413) << res.error;
}

TEST_F(ForwardingTest, UnreachableUpstreamIs502) {
  expect_json_error(http_get(port(), "/down/x"), 502, "upstream_unavailable");
}

TEST_F(ForwardingTest, SlowUpstreamIs504) {
  const auto started = std::chrono::steady_clock::now();
  expect_json_error(http_get(port(), "/slow?ms=8000"), 504, "upstream_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 6s);
}

TEST_F(ForwardingTest, OversizedHeaderIs431) {
  auto res = http_get(port(), "/", {{"X-Big", std::string(10000, 'h')}});
  expect_json_error(res, 431, "headers_too_large");
}

// Request smuggling shapes: 400 and the connection closed, nothing forwarded.
struct SmugglingCase {
  const char* name;
  const char* request;
};

class SmugglingTest : public ForwardingTest, public ::testing::WithParamInterface<SmugglingCase> {};

TEST_P(SmugglingTest, RejectedAndClosed) {
  RawConnection raw(port());
  ASSERT_TRUE(raw.send(GetParam().request));
  auto res = raw.read_response(5s);
  EXPECT_GE(res.status, 400) << GetParam().name << ": " << res.error;
  EXPECT_LT(res.status, 502) << GetParam().name;
  EXPECT_TRUE(raw.wait_closed(5s)) << GetParam().name;
  EXPECT_EQ(upstream_.request_count(), 0u) << GetParam().name;
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SmugglingTest,
    ::testing::Values(
        SmugglingCase{"cl_and_te",
                      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        SmugglingCase{"te_and_cl",
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "Content-Length: 4\r\n\r\n0\r\n\r\n"},
        SmugglingCase{"differing_cl",
                      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      "Content-Length: 5\r\n\r\nabcde"},
        SmugglingCase{"cl_list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nabcde"},
        SmugglingCase{"te_not_chunked_last",
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                      "0\r\n\r\n"},
        SmugglingCase{"te_twice",
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        SmugglingCase{"te_obfuscated",
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
                      "\r\n0\r\n\r\n"},
        SmugglingCase{"te_http10",
                      "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "\r\n0\r\n\r\n"},
        SmugglingCase{"space_before_colon",
                      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\nabcd"},
        SmugglingCase{"bad_chunk_size",
                      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "\r\nzz\r\nabc\r\n0\r\n\r\n"},
        SmugglingCase{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
        SmugglingCase{"no_host", "GET / HTTP/1.1\r\n\r\n"},
        SmugglingCase{"bare_lf_in_value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ForwardingTest, SlowClientHeaderTimesOut) {
  RawConnection raw(port());
  // One header byte every 200 ms: the 1 s header deadline must cut it off.
  const auto started = std::chrono::steady_clock::now();
  raw.send_slowly("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 'a') + "\r\n\r\n", 1,
                  200ms, 30s);
  EXPECT_TRUE(raw.wait_closed(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
  EXPECT_EQ(upstream_.request_count(), 0u);
}

TEST_F(ForwardingTest, HealthAndReadinessOnAdminListener) {
  auto health = http_get(keygate_->admin_port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  auto ready = http_get(keygate_->admin_port(), "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto metrics = http_get(keygate_->admin_port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("keygate_requests_total"), std::string::npos);
}

TEST(ForwardingReload, GoodConfigIsAppliedBadConfigIsRefused) {
  EchoUpstream upstream;
  KeygateProcess keygate(config_for(upstream.port()), with_keys_file());
  const auto port = keygate.proxy_port();
  ASSERT_EQ(http_get(port, "/svc/a").status, 200);

  // A new route in front of everything: /svc/ now goes nowhere (an unreachable upstream).
  auto mark = keygate.stderr_mark();
  keygate.rewrite_config(
      config_for(upstream.port(),
                 "  - {name: moved, match: {path_prefix: /moved/}, upstream: down, auth: none}\n"));
  ASSERT_TRUE(keygate.wait_for_log("configuration reloaded", 10s, mark));
  EXPECT_EQ(http_get(port, "/moved/x").status, 502);

  // Broken YAML: refused, the running configuration stays.
  mark = keygate.stderr_mark();
  keygate.rewrite_config("routes: [this is not valid");
  ASSERT_TRUE(keygate.wait_for_log("reload refused", 10s, mark));
  EXPECT_EQ(http_get(port, "/moved/x").status, 502);
  EXPECT_EQ(http_get(port, "/svc/a").status, 200);

  // SIGHUP reloads too.
  keygate.rewrite_config(config_for(upstream.port()));
  ASSERT_TRUE(keygate.wait_for_log("configuration reloaded", 10s, mark));
  mark = keygate.stderr_mark();
  ASSERT_TRUE(keygate.signal(SIGHUP));
  ASSERT_TRUE(keygate.wait_for_log("configuration reloaded", 10s, mark));
  EXPECT_EQ(http_get(port, "/moved/x").status, 200);  // back on the catch-all route
}

TEST(ForwardingDrain, SigtermFinishesRequestsInFlightThenExitsZero) {
  EchoUpstream upstream;
  KeygateProcess keygate(config_for(upstream.port()), with_keys_file());
  const auto port = keygate.proxy_port();
  KeepAliveClient idle(port);
  ASSERT_EQ(idle.get("/").status, 200);

  auto in_flight =
      std::async(std::launch::async, [port] { return http_get(port, "/slow?ms=1500"); });
  ASSERT_TRUE(upstream.wait_for_requests(2));  // the slow one reached the upstream
  ASSERT_TRUE(keygate.signal(SIGTERM));
  // Not ready any more while draining; the idle keep-alive connection is closed.
  EXPECT_TRUE(idle.wait_peer_closed(5s));
  auto res = in_flight.get();
  EXPECT_EQ(res.status, 200) << res.error;
  auto status = keygate.wait_exit(15s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST(ForwardingConfig, CheckConfigReportsEveryError) {
  const auto dir = make_temp_dir();
  write_text_file(dir + "/bad.yaml", R"(listeners: [{address: 127.0.0.1, port: 99999}]
upstreams: [{name: api, url: "ftp://x"}]
routes:
  - {name: r, match: {path_prefix: /}, upstream: missing, auth: none}
store: {kind: file, file: keys.json}
)");
  auto result = run_keygate_cli({"check-config", "--config", dir + "/bad.yaml"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.stderr_text.find("bad.yaml:1:"), std::string::npos) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("bad.yaml:2:"), std::string::npos) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("bad.yaml:4:"), std::string::npos) << result.stderr_text;

  write_text_file(dir + "/good.yaml", config_for(1234));
  auto ok = run_keygate_cli({"check-config", "--config", dir + "/good.yaml"});
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;
}

}  // namespace
}  // namespace keygate::testing
