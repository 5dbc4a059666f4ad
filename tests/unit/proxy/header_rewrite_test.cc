#include "proxy/header_rewrite.h"

#include <gtest/gtest.h>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace keygate::proxy {
namespace {

std::size_t count(const Fields& fields, std::string_view name) {
  std::size_t n = 0;
  for (const auto& f : fields)
    if (boost::beast::iequals(f.name_string(), name)) ++n;
  return n;
}

TEST(RequestId, ASaneOneIsKeptAndAMissingOrBadOneReplaced) {
  Fields sane;
  sane.insert("X-Request-Id", "trace-42");
  std::string id;
  ensure_request_id(sane, id);
  EXPECT_EQ(id, "trace-42");

  Fields missing;
  ensure_request_id(missing, id);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(missing["x-request-id"], id);  // the upstream gets the id the answer carries

  Fields bad;
  bad.insert("X-Request-Id", std::string(200, 'x'));
  ensure_request_id(bad, id);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(bad["x-request-id"], id);
}

TEST(RequestId, ACheckRequestKeepsItsFieldsAsTheyCame) {
  Fields missing;
  std::string id;
  ensure_request_id(missing, id, /*forwards=*/false);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(missing.count("x-request-id"), 0u);
}

TEST(StripHopByHop, ConnectionCannotRemoveFramingOrHost) {
  Fields fields;
  fields.insert("Host", "api.example.com");
  fields.insert("Content-Length", "194");
  fields.insert("Transfer-Encoding", "chunked");
  fields.insert("Connection", "Content-Length, transfer-encoding, HOST, X-Drop, close");
  fields.insert("X-Drop", "1");
  fields.insert("Keep-Alive", "timeout=5");
  strip_hop_by_hop(fields);
  EXPECT_EQ(count(fields, "host"), 1u);
  EXPECT_EQ(count(fields, "content-length"), 1u);
  EXPECT_EQ(count(fields, "transfer-encoding"), 1u);  // set_framing rewrites it
  EXPECT_EQ(count(fields, "x-drop"), 0u);
  EXPECT_EQ(count(fields, "connection"), 0u);
  EXPECT_EQ(count(fields, "keep-alive"), 0u);
}

TEST(StripHopByHop, EveryHopByHopFieldAndEveryNamedOneGoesWhateverItsCase) {
  for (const bool keep_upgrade : {false, true}) {
    Fields fields;
    fields.insert("Accept", "*/*");
    fields.insert("connection", "x-one");
    fields.insert("X-One", "1");
    fields.insert("Connection", "X-TWO,  upgrade");
    fields.insert("x-two", "2");
    fields.insert("X-Two", "2 again");
    fields.insert("KEEP-ALIVE", "timeout=5");
    fields.insert("Proxy-Connection", "keep-alive");
    fields.insert("TE", "trailers");
    fields.insert("Trailer", "X-Checksum");
    fields.insert("Proxy-Authenticate", "Basic");
    fields.insert("proxy-authorization", "Basic Zm9vOmJhcg==");
    fields.insert("Upgrade", "websocket");
    fields.insert("X-Keep", "kept");
    strip_hop_by_hop(fields, keep_upgrade);
    std::vector<std::string> left;
    for (const auto& field : fields) left.emplace_back(field.name_string());
    const std::vector<std::string> expected =
        keep_upgrade ? std::vector<std::string>{"Accept", "Upgrade", "X-Keep"}
                     : std::vector<std::string>{"Accept", "X-Keep"};
    EXPECT_EQ(left, expected) << "keep_upgrade " << keep_upgrade;
  }
}

TEST(CleanRequestHeaders, EverySpellingOfAnIdentityHeaderGoes) {
  conf::Config config;
  config.http.headers_with_underscores = conf::HttpConfig::Underscores::allow;
  Fields fields;
  fields.insert("X-Keygate-Org", "victim");
  fields.insert("x-keygate-scopes", "admin");
  fields.insert("X_Keygate_Org", "victim");
  fields.insert("X_KEYGATE_KEY_ID", "key_x");
  fields.insert("x-keygate_plan", "enterprise");
  fields.insert("X_Forwarded_For", "1.2.3.4");
  fields.insert("X_Custom", "kept when underscores are allowed");
  fields.insert("X-Other", "kept");
  ASSERT_FALSE(clean_request_headers(fields, config, false));
  EXPECT_EQ(std::distance(fields.begin(), fields.end()), 2);
  EXPECT_EQ(fields["x_custom"], "kept when underscores are allowed");
  EXPECT_EQ(fields["x-other"], "kept");
}

TEST(CleanRequestHeaders, UnderscoreNamesAreDroppedByDefaultOrRejected) {
  conf::Config config;
  Fields fields;
  fields.insert("X_Custom", "1");
  fields.insert("X-Custom", "2");
  ASSERT_FALSE(clean_request_headers(fields, config, false));
  EXPECT_EQ(count(fields, "x_custom"), 0u);
  EXPECT_EQ(fields["x-custom"], "2");

  config.http.headers_with_underscores = conf::HttpConfig::Underscores::reject;
  Fields rejected;
  rejected.insert("X_Custom", "1");
  const auto error = clean_request_headers(rejected, config, false);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 400u);
}

TEST(CleanRequestHeaders, ConfiguredIdentityNamesAreProtectedToo) {
  conf::Config config;
  config.identity_headers.org = "X-Tenant";
  Fields fields;
  fields.insert("x-tenant", "victim");
  fields.insert("X-Keygate-Org", "not ours any more");
  ASSERT_FALSE(clean_request_headers(fields, config, false));
  EXPECT_EQ(count(fields, "x-tenant"), 0u);
  EXPECT_EQ(count(fields, "x-keygate-org"), 1u);
}

TEST(ForwardedHeaders, AnUntrustedPeerCannotClaimAnything) {
  Fields fields;
  fields.insert("X-Forwarded-For", "10.9.9.9");
  fields.insert("X-Forwarded-Proto", "https");
  fields.insert("X-Forwarded-Host", "admin.example.com");
  fields.insert("X-Forwarded-Port", "443");
  fields.insert("X-Real-IP", "10.9.9.9");
  fields.insert("Forwarded", "for=10.9.9.9;proto=https");
  const auto peer = boost::asio::ip::make_address("192.0.2.7");
  const auto origin = resolve_client_origin(fields, peer, "192.0.2.7", {});
  EXPECT_EQ(origin.ip, "192.0.2.7");
  set_forwarded_headers(fields, origin, "192.0.2.7", "http", "api.example.com");
  EXPECT_EQ(fields["x-forwarded-for"], "192.0.2.7");
  EXPECT_EQ(fields["x-forwarded-proto"], "http");
  EXPECT_EQ(fields["x-forwarded-host"], "api.example.com");
  EXPECT_EQ(fields["x-real-ip"], "192.0.2.7");
  EXPECT_EQ(count(fields, "x-forwarded-port"), 0u);
  EXPECT_EQ(count(fields, "forwarded"), 0u);
  EXPECT_EQ(count(fields, "x-forwarded-for"), 1u);
}

TEST(ForwardedHeaders, ATrustedProxyVouchesForTheClientBeforeIt) {
  std::vector<auth::Cidr> trusted{*auth::Cidr::parse("10.0.0.0/8")};
  Fields fields;
  // A spoofed first hop, the real client, then another trusted proxy.
  fields.insert("X-Forwarded-For", "6.6.6.6, 203.0.113.5");
  fields.insert("X-Forwarded-For", "10.1.1.1");
  fields.insert("X-Forwarded-Proto", "https");
  const auto peer = boost::asio::ip::make_address("10.0.0.2");
  const auto origin = resolve_client_origin(fields, peer, "10.0.0.2", trusted);
  EXPECT_TRUE(origin.peer_trusted);
  EXPECT_EQ(origin.ip, "203.0.113.5");
  set_forwarded_headers(fields, origin, "10.0.0.2", "http", "api.example.com");
  EXPECT_EQ(fields["x-forwarded-for"], "6.6.6.6, 203.0.113.5, 10.1.1.1, 10.0.0.2");
  EXPECT_EQ(fields["x-forwarded-proto"], "https");  // the front proxy terminated TLS
  EXPECT_EQ(fields["x-forwarded-host"], "api.example.com");
  EXPECT_EQ(fields["x-real-ip"], "203.0.113.5");
}

TEST(ForwardedHeaders, GarbageInTheChainStopsTheWalk) {
  std::vector<auth::Cidr> trusted{*auth::Cidr::parse("10.0.0.0/8")};
  Fields fields;
  fields.insert("X-Forwarded-For", "203.0.113.5, not-an-ip, 10.1.1.1");
  const auto origin =
      resolve_client_origin(fields, boost::asio::ip::make_address("10.0.0.2"), "10.0.0.2", trusted);
  EXPECT_EQ(origin.ip, "10.1.1.1");
  // A peer outside the trusted networks is the client, whatever it forwards.
  const auto direct = resolve_client_origin(fields, boost::asio::ip::make_address("192.0.2.1"),
                                            "192.0.2.1", trusted);
  EXPECT_FALSE(direct.peer_trusted);
  EXPECT_EQ(direct.ip, "192.0.2.1");
}

// The client address is reported in its canonical text: IPv6 as inet_ntop writes it, and a
// dotted quad with leading zeros (which some parsers read as octal) is not an address.
TEST(ForwardedHeaders, TheClientAddressIsCanonicalText) {
  std::vector<auth::Cidr> trusted{*auth::Cidr::parse("10.0.0.0/8")};
  const auto peer = boost::asio::ip::make_address("10.0.0.2");
  Fields v6;
  v6.insert("x-forwarded-for", "2001:DB8:0:0::7");
  EXPECT_EQ(resolve_client_origin(v6, peer, "10.0.0.2", trusted).ip, "2001:db8::7");
  Fields zeros;
  zeros.insert("X-Forwarded-For", "010.0.0.1, 10.1.1.1");
  EXPECT_EQ(resolve_client_origin(zeros, peer, "10.0.0.2", trusted).ip, "10.1.1.1");
  Fields v4;
  v4.insert("X-FORWARDED-FOR", "198.51.100.20");
  EXPECT_EQ(resolve_client_origin(v4, peer, "10.0.0.2", trusted).ip, "198.51.100.20");
}

TEST(SetFraming, OneNormalisedLengthOrChunkedOrNothing) {
  Fields fields;
  fields.insert("Content-Length", "005");
  fields.insert("Content-Length", "5");
  set_framing(fields, std::uint64_t{5}, false);
  EXPECT_EQ(count(fields, "content-length"), 1u);
  EXPECT_EQ(fields["content-length"], "5");

  Fields chunked;
  chunked.insert("Transfer-Encoding", "chunked");
  set_framing(chunked, boost::none, true);
  EXPECT_EQ(chunked["transfer-encoding"], "chunked");
  EXPECT_EQ(count(chunked, "content-length"), 0u);

  Fields none;
  none.insert("Content-Length", "10");
  set_framing(none, boost::none, false);
  EXPECT_EQ(count(none, "content-length"), 0u);
}

// The one-pass head must be what editing the upstream's head in place and serializing it with
// Beast gives, for every kind of field the edits touch.
TEST(ForwardedResponseHead, SameBytesAsEditingTheHeadInPlace) {
  using Response = http::response<http::empty_body, Fields>;
  auto upstream = [] {
    Response res{http::status::ok, 11};
    res.reason("Fine");
    res.insert("Server", "up");
    res.insert("Connection", "keep-alive, X-Internal, content-length");
    res.insert("X-Internal", "secret");
    res.insert("Keep-Alive", "timeout=5");
    res.insert("Transfer-Encoding", "identity");
    res.insert("Content-Length", "29");
    res.insert("x-ratelimit-limit", "999");  // replaced by keygate's
    res.insert("X-Request-Id", "upstream-id");
    res.insert("TE", "trailers");
    res.insert("Trailer", "X-Checksum");
    res.insert("Upgrade", "h2c");
    res.insert("Proxy-Connection", "close");
    res.insert("Set-Cookie", "a=1");
    res.insert("set-cookie", "b=2");  // repeated fields stay, in order
    return res;
  };
  const std::vector<std::pair<std::string_view, std::string>> added = {
      {"X-RateLimit-Limit", "100"}, {"X-RateLimit-Remaining", "6"}, {"Retry-After", "1"}};
  std::vector<std::string_view> added_names;
  std::string added_fields;
  for (const auto& [name, value] : added) {
    added_names.push_back(name);
    added_fields.append(name).append(": ").append(value).append("\r\n");
  }
  for (const unsigned version : {10u, 11u}) {
    for (const bool keep_alive : {false, true}) {
      for (const auto length :
           {boost::optional<std::uint64_t>(29), boost::optional<std::uint64_t>()}) {
        Response edited = upstream();
        strip_hop_by_hop(edited.base());
        for (const auto& [name, value] : added) edited.set(name, value);
        edited.set("X-Request-Id", "req-1");
        edited.version(version);
        set_framing(edited.base(), length, false);
        edited.keep_alive(keep_alive);
        std::ostringstream expected;
        expected << edited.base();

        std::string head;
        append_forwarded_response_head(head, upstream().base(), version, added_names, added_fields,
                                       "req-1", length, keep_alive);
        EXPECT_EQ(head, expected.str()) << "version " << version << " keep_alive " << keep_alive;
        EXPECT_EQ(head.find("X-Internal"), std::string::npos);
        EXPECT_EQ(head.find("999"), std::string::npos);
        EXPECT_NE(head.find("X-RateLimit-Remaining: 6\r\n"), std::string::npos);
        EXPECT_EQ(head.find("upstream-id"), std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace keygate::proxy
