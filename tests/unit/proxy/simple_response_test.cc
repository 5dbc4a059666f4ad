#include "proxy/simple_response.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/simple_response_oracle.h"

namespace keygate::proxy {
namespace {

constexpr std::size_t kHeadLimit = 32 * 1024;
constexpr std::size_t kBodyLimit = 64 * 1024;

const std::string kNginx =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Fri, 04 Dec 2026 20:14:52 GMT\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 29\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "{\"ok\":true,\"service\":\"bench\"}";

SimpleParse parse(std::string_view data, SimpleResponse& out) {
  return parse_simple_response(data, kHeadLimit, kBodyLimit, out);
}

// Parses `data`, which must be simple, and checks Beast reads it the same way. The views
// point into `data`, kept until the test ends.
SimpleResponse parse_agreed(std::string response) {
  static std::vector<std::unique_ptr<std::string>> kept;
  const std::string& data = *kept.emplace_back(std::make_unique<std::string>(std::move(response)));
  SimpleResponse res;
  EXPECT_EQ(parse(data, res), SimpleParse::complete) << data;
  EXPECT_EQ(testing::simple_response_disagreement(data, kHeadLimit, res), "") << data;
  return res;
}

TEST(SimpleResponse, ATypicalResponseIsReadInPlace) {
  const std::string data = kNginx + "HTTP/1.1 next";  // bytes after the body stay unread
  const SimpleResponse res = parse_agreed(kNginx);
  SimpleResponse again;
  ASSERT_EQ(parse(data, again), SimpleParse::complete);
  EXPECT_EQ(again.head_bytes + again.body.size(), kNginx.size());
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.version, 11u);
  EXPECT_EQ(res.reason, "OK");
  EXPECT_EQ(res.content_length, 29u);
  EXPECT_EQ(res.body, R"({"ok":true,"service":"bench"})");
  EXPECT_TRUE(res.keep_alive);
  ASSERT_EQ(res.fields.size(), 5u);
  EXPECT_EQ(res.fields[1].name, "Date");
  EXPECT_EQ(res.fields[1].value, "Fri, 04 Dec 2026 20:14:52 GMT");
  EXPECT_TRUE(res.fields[1].canonical);
  EXPECT_EQ(res.connection, "keep-alive");
}

TEST(SimpleResponse, KeepAliveIsReadAsBeastReadsIt) {
  auto response = [](std::string version, std::string connection) {
    std::string head = "HTTP/" + version + " 201 Created\r\nContent-Length: 0\r\n";
    if (!connection.empty()) head += "Connection: " + connection + "\r\n";
    return head + "\r\n";
  };
  EXPECT_TRUE(parse_agreed(response("1.1", "")).keep_alive);
  EXPECT_FALSE(parse_agreed(response("1.1", "Close")).keep_alive);
  EXPECT_FALSE(parse_agreed(response("1.1", "x-trace , close")).keep_alive);
  EXPECT_FALSE(parse_agreed(response("1.0", "")).keep_alive);
  EXPECT_TRUE(parse_agreed(response("1.0", "Keep-Alive")).keep_alive);
  EXPECT_TRUE(parse_agreed(response("1.0", ",,keep-alive, x-other")).keep_alive);
}

TEST(SimpleResponse, ValuesAreTrimmedAndEmptyOnesKept) {
  const SimpleResponse res = parse_agreed(
      "HTTP/1.1 404 \r\nX-Empty:\r\nX-Spaced: \t a b \t\r\ncontent-length: 2\r\n\r\nno");
  EXPECT_EQ(res.reason, "");  // forwarded as Beast does: "Not Found"
  EXPECT_EQ(res.fields[0].value, "");
  EXPECT_FALSE(res.fields[0].canonical);  // no space after the colon
  EXPECT_EQ(res.fields[1].name, "X-Spaced");
  EXPECT_EQ(res.fields[1].value, "a b");
  EXPECT_FALSE(res.fields[1].canonical);
  EXPECT_EQ(res.body, "no");
}

TEST(SimpleResponse, ForwardedHeadDropsHopByHopAndConnectionNamedFields) {
  const SimpleResponse res = parse_agreed(
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal, content-length\r\n"
      "X-Internal: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: X-Sum\r\n"
      "Upgrade: h2c\r\nProxy-Connection: close\r\nProxy-Authenticate: Basic\r\n"
      "x-ratelimit-limit: 999\r\nX-Request-Id: upstream-id\r\nSet-Cookie: a=1\r\n"
      "set-cookie: b=2\r\nContent-Length: 2\r\n\r\nok");
  std::string head;
  const std::string_view names[] = {"X-RateLimit-Limit"};
  append_forwarded_simple_head(head, res, 11, names, "X-RateLimit-Limit: 10\r\n", "req-1", true);
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
            "X-RateLimit-Limit: 10\r\nX-Request-Id: req-1\r\nContent-Length: 2\r\n\r\n");
}

TEST(SimpleResponse, APartialHeadOrBodyIsIncomplete) {
  SimpleResponse res;
  for (std::size_t cut :
       {std::size_t{0}, std::size_t{5}, kNginx.find("\r\n\r\n") + 2, kNginx.size() - 1})
    EXPECT_EQ(parse(std::string_view(kNginx).substr(0, cut), res), SimpleParse::incomplete) << cut;
}

TEST(SimpleResponse, AnythingElseIsLeftToBeast) {
  const std::string ok = "Content-Length: 0\r\n\r\n";
  const std::vector<std::string> others = {
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" + ok,
      "HTTP/1.1 204 No Content\r\n" + ok,
      "HTTP/1.1 304 Not Modified\r\n" + ok,
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\n\r\n",                        // close-delimited
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + ok,  // twice
      "HTTP/1.1 200 OK\r\nContent-Length: +0\r\n\r\n",  // not digits
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 65537\r\n\r\n",  // over the body limit
      "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\n" + ok,
      "HTTP/1.1 200 OK\r\nConnection: \"close\"\r\n" + ok,
      "HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nX: 1\r\nset-cookie: b\r\n" + ok,  // Beast regroups
      "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\n" + ok,                       // obs-fold
      "HTTP/1.1 200 OK\r\nX-Text: caf\xc3\xa9\r\n" + ok,                     // obs-text
      "HTTP/1.1 200 OK\r\nX-Ctl: a\x01z\r\n" + ok,
      "HTTP/1.1 200 OK\r\nX-Lf: a\nb\r\n" + ok,
      "HTTP/1.1 200 OK\r\nX-Name : v\r\n" + ok,
      "HTTP/1.1 200 OK\r\n: v\r\n" + ok,
      "HTTP/1.1 200 OK\r\nX(bad): v\r\n" + ok,
      "HTTP/1.1 200 OK\r\nNoColon\r\n" + ok,
      "HTTP/1.1 200 O\x7fK\r\n" + ok,
      "HTTP/2.0 200 OK\r\n" + ok,
      "HTTP/1.1 200\r\n" + ok,
      "HTTP/1.1 2000 OK\r\n" + ok,
      "HTTP/1.1 099 Low\r\n" + ok,
      "HTTP/1.1 600 High\r\n" + ok,
      "http/1.1 200 OK\r\n" + ok,
  };
  for (const auto& data : others) {
    SimpleResponse res;
    EXPECT_EQ(parse(data, res), SimpleParse::unsupported) << data;
  }
}

TEST(SimpleResponse, LimitsOnTheHeadAndTheFieldCountLeaveItToBeast) {
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (std::size_t i = 0; i < SimpleResponse::kMaxFields; ++i) many += "X-F: v\r\n";
  many += "Content-Length: 0\r\n\r\n";
  SimpleResponse res;
  EXPECT_EQ(parse(many, res), SimpleParse::unsupported);

  const std::string big =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'b') + "\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(parse_simple_response(big, 100, kBodyLimit, res), SimpleParse::unsupported);
  EXPECT_EQ(parse_simple_response(std::string_view(big).substr(0, 150), 100, kBodyLimit, res),
            SimpleParse::unsupported);  // no end of head within the limit
  EXPECT_EQ(parse_simple_response(big, big.size() + 8, kBodyLimit, res), SimpleParse::complete);
}

}  // namespace
}  // namespace keygate::proxy
