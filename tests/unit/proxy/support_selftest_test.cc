// Tests of the test helpers themselves: the echo upstream, the clients, and the process
// runner. Integration tests lean on these to tell keygate's faults from their own.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>

#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::uint64_t kMiB = 1024 * 1024;

json::object parse_object(const std::string& body) {
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << body;
    return {};
  }
  return value.as_object();
}

std::string text(const json::value& v) {
  return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

class EchoUpstreamTest : public ::testing::Test {
 protected:
  EchoUpstream upstream_;
};

TEST_F(EchoUpstreamTest, EchoesMethodTargetHeadersAndRecordsTheRequest) {
  const auto r = http_request(upstream_.port(), "GET", "/hello?x=1", {{"X-Test", "one"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("X-ECHO-CONNECTION"), "1");
  const auto body = parse_object(r.body);
  EXPECT_EQ(body.at("method"), "GET");
  EXPECT_EQ(body.at("target"), "/hello?x=1");
  EXPECT_EQ(body.at("headers").at("x-test"), "one");
  EXPECT_EQ(text(body.at("headers").at("host")), "127.0.0.1:" + std::to_string(upstream_.port()));
  EXPECT_EQ(body.at("body_bytes"), 0);

  ASSERT_EQ(upstream_.request_count(), 1u);
  const auto recorded = upstream_.requests().front();
  EXPECT_EQ(recorded.method, "GET");
  EXPECT_EQ(recorded.path(), "/hello");
  EXPECT_EQ(recorded.header("x-test"), "one");
  EXPECT_EQ(recorded.header_count("X-Test"), 1u);
  EXPECT_FALSE(recorded.has_header("authorization"));
  EXPECT_EQ(recorded.connection_id, 1u);

  upstream_.clear();
  EXPECT_EQ(upstream_.request_count(), 0u);
  EXPECT_EQ(upstream_.connection_count(), 1u);
}

TEST_F(EchoUpstreamTest, RecordsBodyBytesAndChecksum) {
  const std::string payload = R"({"hello":"world"})";
  const auto r = http_request(upstream_.port(), "POST", "/items",
                              {{"Content-Type", "application/json"}}, payload);
  ASSERT_TRUE(r.ok()) << r.error;
  const auto body = parse_object(r.body);
  EXPECT_EQ(body.at("body_bytes"), payload.size());
  EXPECT_EQ(text(body.at("body_checksum")), body_checksum(payload));
  const auto recorded = upstream_.last_request();
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->body, payload);
  EXPECT_EQ(recorded->header("content-length"), std::to_string(payload.size()));
  EXPECT_FALSE(recorded->chunked);
}

TEST_F(EchoUpstreamTest, StatusEndpointAndResponseHeadersOnRequest) {
  auto r = http_request(
      upstream_.port(), "GET", "/status/503",
      {{"X-Echo-Set-Header", "Retry-After: 7"}, {"X-Echo-Set-Header", "Connection: keep-alive"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "7");
  EXPECT_EQ(parse_object(r.body).at("status"), 503);

  r = http_request(upstream_.port(), "GET", "/status/204");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body_bytes, 0u);

  r = http_request(upstream_.port(), "GET", "/status/418");
  EXPECT_EQ(r.status, 418);

  r = http_request(upstream_.port(), "HEAD", "/bytes?n=1000");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.header("content-length"), "1000");
  EXPECT_EQ(r.body_bytes, 0u);
}

TEST_F(EchoUpstreamTest, EndpointsWorkUnderARoutePrefix) {
  EXPECT_EQ(http_get(upstream_.port(), "/v1/status/404").status, 404);
  EXPECT_EQ(http_get(upstream_.port(), "/v1/api/bytes?n=10").body, pattern_bytes(10));
  EXPECT_EQ(http_get(upstream_.port(), "/status").status, 200);  // no code: plain echo
  EXPECT_EQ(http_get(upstream_.port(), "/v1/status/abc").status, 400);
  WebSocketClient ws(upstream_.port(), "/v1/ws");
  ASSERT_TRUE(ws.connected()) << ws.error();
  EXPECT_EQ(ws.echo("prefixed"), "prefixed");
}

TEST_F(EchoUpstreamTest, KeepAliveClientReusesOneConnection) {
  KeepAliveClient client(upstream_.port());
  ASSERT_TRUE(client.connected()) << client.error();
  for (int i = 0; i < 5; ++i) {
    const auto r = client.request("POST", "/n/" + std::to_string(i), {}, "body");
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_TRUE(r.keep_alive);
    EXPECT_EQ(r.header("x-echo-connection"), "1");
  }
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.requests_sent(), 5u);
  EXPECT_EQ(upstream_.connection_count(), 1u);
  const auto recorded = upstream_.requests();
  ASSERT_EQ(recorded.size(), 5u);
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    EXPECT_EQ(recorded[i].request_on_connection, i + 1);
  }
}

TEST_F(EchoUpstreamTest, CloseEndpointEndsTheConnection) {
  KeepAliveClient client(upstream_.port());
  const auto r = client.get("/close");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_FALSE(client.connected());
  const auto after = client.get("/again");
  EXPECT_EQ(after.status, 0);
  EXPECT_FALSE(after.error.empty());
  EXPECT_TRUE(upstream_.wait_for_open_connections(0, 5s));
}

TEST_F(EchoUpstreamTest, ServerCloseIsVisibleToAnIdleKeepAliveClient) {
  KeepAliveClient client(upstream_.port());
  ASSERT_TRUE(client.get("/").ok());
  EXPECT_FALSE(client.wait_peer_closed(50ms));  // still open: the upstream has no idle timeout
  upstream_.stop();
  EXPECT_TRUE(client.wait_peer_closed(5s));
}

TEST_F(EchoUpstreamTest, StreamsFiftyMebibytesWithFlatClientMemory) {
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    const long rss_before = measure_rss_kb(getpid());
    ASSERT_GT(rss_before, 0);
    RequestOptions options;
    options.store_body = false;
    options.timeout = 60s;
    const std::string target =
        "/bytes?n=" + std::to_string(50 * kMiB) + (chunked ? "&chunked=1" : "");
    const auto r = http_request(upstream_.port(), "GET", target, {}, {}, options);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.chunked, chunked);
    EXPECT_EQ(r.body_bytes, 50 * kMiB);
    EXPECT_EQ(r.body_checksum, pattern_checksum(50 * kMiB));
    EXPECT_TRUE(r.body.empty());
    // Client and upstream share this process: neither may have held the body.
    EXPECT_LT(measure_rss_kb(getpid()) - rss_before, 16 * 1024);
  }
}

TEST_F(EchoUpstreamTest, UploadsAreStreamedChunkedOrSized) {
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    upstream_.clear();
    const long rss_before = measure_rss_kb(getpid());
    RequestOptions options;
    options.generated_body_bytes = 20 * kMiB;
    options.chunked = chunked;
    options.timeout = 60s;
    const auto r = http_request(upstream_.port(), "PUT", "/upload", {}, {}, options);
    ASSERT_TRUE(r.ok()) << r.error;
    const auto body = parse_object(r.body);
    EXPECT_EQ(body.at("body_bytes"), 20 * kMiB);
    EXPECT_EQ(text(body.at("body_checksum")), pattern_checksum(20 * kMiB));
    // The record keeps only a prefix of the body (1 MiB), the rest is streamed through.
    EXPECT_LT(measure_rss_kb(getpid()) - rss_before, 16 * 1024);
    const auto recorded = upstream_.last_request();
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->chunked, chunked);
    EXPECT_EQ(recorded->has_header("content-length"), !chunked);
    EXPECT_TRUE(recorded->body_truncated);
    EXPECT_EQ(recorded->body.size(), RecordedRequest::kBodyKeepBytes);
  }
}

TEST_F(EchoUpstreamTest, ExpectContinueIsAnswered) {
  RequestOptions options;
  options.expect_continue = true;
  options.generated_body_bytes = 100000;
  const auto r = http_request(upstream_.port(), "POST", "/upload", {}, {}, options);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.interim_statuses, std::vector<int>{100});
  EXPECT_EQ(parse_object(r.body).at("body_bytes"), 100000);
  const auto recorded = upstream_.last_request();
  ASSERT_TRUE(recorded);
  EXPECT_TRUE(recorded->expect_continue);
}

TEST_F(EchoUpstreamTest, SlowAnswersLateAndClientTimeoutsFire) {
  auto start = std::chrono::steady_clock::now();
  auto r = http_request(upstream_.port(), "GET", "/slow?ms=150");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);

  start = std::chrono::steady_clock::now();
  r = http_request(upstream_.port(), "GET", "/slow?ms=5000", {}, {}, 200ms);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(EchoUpstreamTest, HangNeverAnswersAndIsReleasedWhenThePeerLeaves) {
  const auto r = http_request(upstream_.port(), "GET", "/hang", {}, {}, 200ms);
  EXPECT_EQ(r.status, 0);
  ASSERT_TRUE(upstream_.wait_for_requests(1));
  EXPECT_EQ(upstream_.last_request()->path(), "/hang");
  EXPECT_TRUE(upstream_.wait_for_open_connections(0, 5s));
}

TEST_F(EchoUpstreamTest, WebSocketEcho) {
  WebSocketClient ws(upstream_.port(), "/ws", {{"X-Test", "ws"}});
  ASSERT_TRUE(ws.connected()) << ws.error();
  EXPECT_EQ(ws.handshake_status(), 101);
  EXPECT_EQ(ws.echo("hello"), "hello");
  ASSERT_TRUE(ws.send_binary(std::string("\0\1\2", 3)));
  EXPECT_EQ(ws.read_message(), std::string("\0\1\2", 3));
  EXPECT_EQ(upstream_.websocket_message_count(), 2u);
  EXPECT_TRUE(ws.close());
  const auto recorded = upstream_.last_request();
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->path(), "/ws");
  EXPECT_EQ(recorded->header("x-test"), "ws");
  EXPECT_EQ(recorded->header("upgrade"), "websocket");
}

TEST_F(EchoUpstreamTest, WebSocketHandshakeRefusalIsReported) {
  WebSocketClient ws(upstream_.port(), "/not-ws");
  EXPECT_FALSE(ws.connected());
  EXPECT_EQ(ws.handshake_status(), 200);
  EXPECT_FALSE(ws.error().empty());
}

TEST_F(EchoUpstreamTest, RawConnectionPipelinesAndReadsByteExact) {
  RawConnection raw(upstream_.port());
  ASSERT_TRUE(raw.connected()) << raw.error();
  ASSERT_TRUE(
      raw.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
               "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto first = raw.read_response();
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_EQ(parse_object(first.body).at("target"), "/one");
  auto second = raw.read_response();
  ASSERT_TRUE(second.ok()) << second.error;
  EXPECT_EQ(parse_object(second.body).at("body_bytes"), 11);
  EXPECT_EQ(upstream_.last_request()->body, "hello world");
  EXPECT_TRUE(upstream_.last_request()->chunked);

  // Nothing more is coming: a short read times out without closing the connection.
  EXPECT_EQ(raw.read_some(50ms), "");
  EXPECT_TRUE(raw.connected());

  ASSERT_TRUE(raw.send("GET /close HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string rest = raw.read_until_close(5s);
  EXPECT_EQ(rest.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << rest;
  EXPECT_TRUE(raw.peer_closed());
}

TEST_F(EchoUpstreamTest, MalformedRequestGets400AndAClose) {
  RawConnection raw(upstream_.port());
  ASSERT_TRUE(raw.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"));
  const auto r = raw.read_response();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(raw.wait_closed(5s));
  EXPECT_EQ(upstream_.parse_error_count(), 1u);
  EXPECT_EQ(upstream_.request_count(), 0u);
}

TEST_F(EchoUpstreamTest, SlowSenderAndHalfClose) {
  RawConnection raw(upstream_.port());
  ASSERT_TRUE(raw.send_slowly("GET /slowly HTTP/1.1\r\nHost: x\r\n\r\n", 8, 5ms));
  const auto r = raw.read_response();
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(parse_object(r.body).at("target"), "/slowly");
  raw.shutdown_send();
  EXPECT_TRUE(raw.wait_closed(5s));
}

TEST_F(EchoUpstreamTest, ConnectionRefusedIsAnErrorNotAHang) {
  const std::uint16_t port = upstream_.port();
  upstream_.stop();
  const auto r = http_request(port, "GET", "/", {}, {}, 2s);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  RawConnection raw(port, 2s);
  EXPECT_FALSE(raw.connected());
}

TEST(EchoUpstreamOptionsTest, SeveralThreadsAndTheRequestCallback) {
  std::atomic<int> seen{0};
  EchoUpstreamOptions options;
  options.threads = 2;
  options.record = false;
  options.on_request = [&](const RecordedRequest&) { seen.fetch_add(1); };
  EchoUpstream upstream(options);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(http_get(upstream.port(), "/").ok());
  EXPECT_EQ(seen.load(), 4);
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST(PatternTest, ChecksumIsPiecewiseConsistent) {
  for (std::uint64_t n : {0ull, 1ull, 26ull, 65536ull, 65537ull, 200001ull}) {
    EXPECT_EQ(pattern_checksum(n), body_checksum(pattern_bytes(n))) << n;
  }
  char piece[5];
  fill_pattern(piece, 5, 24);
  EXPECT_EQ(std::string(piece, 5), "yzabc");
}

// ---------------------------------------------------------------------------------------------
// Processes

TEST(RunCommandTest, CapturesOutputExitCodeAndStdin) {
  auto r = run_command("/bin/sh", {"-c", "echo out; echo err >&2; echo \"$KG_VAR\"; exit 3"},
                       {{"KG_VAR", "from-env"}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_text, "out\nfrom-env\n");
  EXPECT_EQ(r.stderr_text, "err\n");
  EXPECT_FALSE(r.timed_out);

  CliOptions options;
  options.stdin_data = std::string(300000, 'x');  // more than a pipe holds
  r = run_command("wc", {"-c"}, {}, options);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "300000\n");
}

TEST(RunCommandTest, KillsAtTheTimeout) {
  CliOptions options;
  options.timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_command("sleep", {"30"}, {}, options);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

// A stand-in for the keygate binary that speaks its start-up protocol, so the process
// helper is tested independently of keygate's own state.
std::string write_fake_keygate(const std::string& dir, bool ready) {
  const std::string path = dir + "/fake-keygate.sh";
  std::string script = "#!/bin/sh\n";
  if (ready) {
    script +=
        "echo '{\"level\":\"info\",\"msg\":\"listening\",\"listener\":\"proxy\","
        "\"address\":\"127.0.0.1\",\"port\":34567}' >&2\n"
        "echo '{\"level\":\"info\",\"msg\":\"listening\",\"listener\":\"admin\","
        "\"address\":\"127.0.0.1\",\"port\":34568}' >&2\n"
        "echo '{\"level\":\"info\",\"msg\":\"ready\"}' >&2\n"
        "echo \"args: $*\"\n"
        "echo \"env: $KG_TEST_VAR\"\n"
        "trap 'echo \"{\\\"msg\\\":\\\"reload $(cat \"$3\")\\\"}\" >&2' HUP\n"
        "trap 'exit 7' TERM\n"
        "while :; do sleep 0.02; done\n";
  } else {
    script += "echo 'config error: keygate.yaml:3:5: unknown key' >&2\nexit 2\n";
  }
  write_text_file(path, script);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
  return path;
}

TEST(KeygateProcessTest, ParsesListeningLinesSignalsAndReload) {
  const std::string bin_dir = make_temp_dir("fake-keygate");
  KeygateOptions options;
  options.binary = write_fake_keygate(bin_dir, true);
  options.extra_args = {"--log-level", "debug"};
  options.env = {{"KG_TEST_VAR", "42"}};
  options.files = {{"keys.json", R"({"dir":"@DIR@"})"}};
  KeygateProcess kg("listeners: [{port: 0}]\n", options);
  EXPECT_EQ(kg.proxy_port(), 34567);
  EXPECT_EQ(kg.admin_port(), 34568);
  EXPECT_GT(kg.pid(), 0);
  EXPECT_EQ(read_text_file(kg.config_path()), "listeners: [{port: 0}]\n");
  EXPECT_EQ(read_text_file(kg.path("keys.json")), R"({"dir":")" + kg.dir() + R"("})");

  ASSERT_TRUE(kg.wait_for_log("ready"));
  const std::string out = kg.stdout_text();
  EXPECT_NE(out.find("args: serve --config " + kg.config_path() + " --log-level debug"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("env: 42"), std::string::npos) << out;

  const std::size_t mark = kg.stderr_mark();
  kg.rewrite_config("version-two");
  ASSERT_TRUE(kg.signal(SIGHUP));
  EXPECT_TRUE(kg.wait_for_log("reload version-two", 5s, mark)) << kg.stderr_text();
  EXPECT_EQ(kg.log_lines("reload", mark).size(), 1u);
  EXPECT_FALSE(kg.wait_for_log("ready", 10ms, mark));

  EXPECT_EQ(kg.terminate(5s), 7);
  EXPECT_FALSE(kg.running());
  EXPECT_FALSE(kg.signal(SIGTERM));
  std::filesystem::remove_all(bin_dir);
}

TEST(KeygateProcessTest, StartFailureThrowsWithStderr) {
  const std::string bin_dir = make_temp_dir("fake-keygate");
  KeygateOptions options;
  options.binary = write_fake_keygate(bin_dir, false);
  try {
    KeygateProcess kg("bad: config\n", options);
    ADD_FAILURE() << "expected a start failure";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exited (status 2)"), std::string::npos) << e.what();
    // The directory is kept for inspection after a failed start; this one was expected.
    const std::string message = e.what();
    const auto from = message.find("; dir ");
    const auto to = message.find("; stderr");
    ASSERT_TRUE(from != std::string::npos && to != std::string::npos) << message;
    std::filesystem::remove_all(message.substr(from + 6, to - from - 6));
  }

  options.wait_ready = false;
  KeygateProcess kg("bad: config\n", options);
  EXPECT_EQ(kg.wait_exit(5s), 2);
  EXPECT_NE(kg.stderr_text().find("unknown key"), std::string::npos);
  std::filesystem::remove_all(bin_dir);
}

}  // namespace
}  // namespace keygate::testing
