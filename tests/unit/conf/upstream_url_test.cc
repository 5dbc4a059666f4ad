#include "conf/upstream_url.h"

#include <gtest/gtest.h>

namespace keygate::conf {
namespace {

UpstreamAddress parse_ok(std::string_view url) {
  auto parsed = parse_upstream_url(url);
  EXPECT_TRUE(parsed.value) << url << ": " << parsed.error;
  return parsed.value.value_or(UpstreamAddress{});
}

std::string parse_error(std::string_view url) {
  auto parsed = parse_upstream_url(url);
  EXPECT_FALSE(parsed.value) << url;
  return parsed.error;
}

TEST(UpstreamUrl, HostPortAndBasePath) {
  auto address = parse_ok("http://127.0.0.1:3000/base/v2/");
  EXPECT_EQ(address.host, "127.0.0.1");
  EXPECT_EQ(address.port, 3000);
  EXPECT_EQ(address.base_path, "/base/v2");
}

TEST(UpstreamUrl, DefaultsToPort80AndNoBasePath) {
  auto address = parse_ok("http://api.internal");
  EXPECT_EQ(address.host, "api.internal");
  EXPECT_EQ(address.port, 80);
  EXPECT_EQ(address.base_path, "");
  EXPECT_EQ(parse_ok("http://api.internal/").base_path, "");
}

TEST(UpstreamUrl, LowerCasesSchemeAndHost) {
  auto address = parse_ok("HTTP://API.Example.COM:8080/Base");
  EXPECT_EQ(address.host, "api.example.com");
  EXPECT_EQ(address.base_path, "/Base");  // paths are case-sensitive
}

TEST(UpstreamUrl, Ipv6WithoutBrackets) {
  auto address = parse_ok("http://[::1]:9000");
  EXPECT_EQ(address.host, "::1");
  EXPECT_EQ(address.port, 9000);
}

TEST(UpstreamUrl, HttpsDefaultsToPort443AndAsksForTls) {
  auto address = parse_ok("https://API.example.com/v1");
  EXPECT_TRUE(address.tls);
  EXPECT_EQ(address.host, "api.example.com");
  EXPECT_EQ(address.port, 443);
  EXPECT_EQ(address.base_path, "/v1");
  EXPECT_FALSE(parse_ok("http://api.example.com").tls);
  EXPECT_EQ(parse_ok("https://127.0.0.1:8443").port, 8443);
}

TEST(UpstreamUrl, RejectsWhatCannotBeForwardedTo) {
  EXPECT_NE(parse_error("ftp://host").find("unsupported scheme 'ftp'"), std::string::npos);
  EXPECT_NE(parse_error("localhost:3000").find("unsupported scheme 'localhost'"),
            std::string::npos);
  EXPECT_FALSE(parse_error("127.0.0.1:3000").empty());
  EXPECT_NE(parse_error("not a url").find("is not a URL"), std::string::npos);
  EXPECT_NE(parse_error("http:///path").find("has no host"), std::string::npos);
  EXPECT_NE(parse_error("http://user:pw@host").find("user info"), std::string::npos);
  EXPECT_NE(parse_error("http://host/a?b=1").find("query or a fragment"), std::string::npos);
  EXPECT_NE(parse_error("http://host/#top").find("query or a fragment"), std::string::npos);
}

TEST(UpstreamUrl, PortMustBeInRange) {
  EXPECT_NE(parse_error("http://host:0").find("port '0' is out of range"), std::string::npos);
  EXPECT_NE(parse_error("http://host:65536").find("port '65536' is out of range"),
            std::string::npos);
  EXPECT_NE(parse_error("http://host:99999").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error("http://host:/x").find("out of range"), std::string::npos);
  EXPECT_EQ(parse_ok("http://host:65535").port, 65535);
}

}  // namespace
}  // namespace keygate::conf
