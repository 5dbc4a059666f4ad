#include "proxy/host_header.h"

#include <gtest/gtest.h>

#include <optional>

namespace keygate::proxy {
namespace {

std::optional<std::pair<std::string, std::string>> parse(std::string_view host) {
  std::string name;
  std::string_view port;
  if (!parse_host_header(host, name, port)) return std::nullopt;
  return std::make_pair(name, std::string(port));
}

TEST(HostHeader, NamesAreLowerCasedWithOneTrailingDotRemoved) {
  EXPECT_EQ(parse("Internal.Example.COM")->first, "internal.example.com");
  EXPECT_EQ(parse("internal.example.com.")->first, "internal.example.com");
  EXPECT_EQ(parse("INTERNAL.example.com.:8080")->first, "internal.example.com");
  EXPECT_EQ(parse("INTERNAL.example.com.:8080")->second, "8080");
  EXPECT_EQ(parse("localhost")->second, "");
  EXPECT_EQ(parse("127.0.0.1:80")->first, "127.0.0.1");
  EXPECT_EQ(parse("[::1]:8080")->first, "[::1]");
  EXPECT_EQ(parse("[::1]:8080")->second, "8080");
  EXPECT_EQ(parse("[2001:DB8::1]")->first, "[2001:db8::1]");
  EXPECT_EQ(parse("")->first, "");  // HTTP/1.0 without Host
}

TEST(HostHeader, MalformedHostsAreRefused) {
  for (const char* host : {"user@internal.example.com",
                           "internal.example.com@evil",
                           "a..b",
                           ".a",
                           "a.com..",
                           "host:80:80",
                           "host:",
                           "host:abc",
                           "host:99999",
                           "[::1",
                           "::1",
                           "[::1]x",
                           "[::1]:",
                           "[]",
                           "[zz::1]",
                           "a b",
                           "a/b",
                           "a\\b",
                           "a%2eb",
                           "exa\tmple",
                           "a,b",
                           "a;b"}) {
    EXPECT_FALSE(parse(host).has_value()) << host;
  }
  EXPECT_FALSE(parse(std::string(300, 'a')).has_value());
}

}  // namespace
}  // namespace keygate::proxy
