#include "auth/cidr.h"

#include <gtest/gtest.h>

namespace keygate::auth {
namespace {

boost::asio::ip::address ip(const char* text) {
  return boost::asio::ip::make_address(text);
}

TEST(Cidr, ParsesV4AndV6) {
  auto v4 = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->prefix_length(), 8u);
  EXPECT_EQ(v4->to_string(), "10.0.0.0/8");
  auto v6 = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->to_string(), "2001:db8::/32");
}

TEST(Cidr, BareAddressIsOneHost) {
  auto host = Cidr::parse("192.168.1.7");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_length(), 32u);
  EXPECT_TRUE(host->contains(ip("192.168.1.7")));
  EXPECT_FALSE(host->contains(ip("192.168.1.8")));
  auto host6 = Cidr::parse("::1");
  ASSERT_TRUE(host6);
  EXPECT_EQ(host6->prefix_length(), 128u);
  EXPECT_TRUE(host6->contains(ip("::1")));
}

TEST(Cidr, HostBitsAreMasked) {
  auto c = Cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), "10.0.0.0/8");
  EXPECT_TRUE(c->contains(ip("10.200.0.1")));
}

TEST(Cidr, V4Matching) {
  auto c = Cidr::parse("192.168.4.0/22");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(ip("192.168.4.0")));
  EXPECT_TRUE(c->contains(ip("192.168.7.255")));
  EXPECT_FALSE(c->contains(ip("192.168.8.0")));
  EXPECT_FALSE(c->contains(ip("192.168.3.255")));
  EXPECT_FALSE(c->contains(ip("::1")));
  auto all = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->contains(ip("8.8.8.8")));
  EXPECT_FALSE(all->contains(ip("2001:db8::1")));
}

TEST(Cidr, V6Matching) {
  auto c = Cidr::parse("2001:db8:abcd:12::/63");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(ip("2001:db8:abcd:12::1")));
  EXPECT_TRUE(c->contains(ip("2001:db8:abcd:13:ffff::1")));
  EXPECT_FALSE(c->contains(ip("2001:db8:abcd:14::1")));
  EXPECT_FALSE(c->contains(ip("10.0.0.1")));
}

TEST(Cidr, V4MappedClientMatchesV4Network) {
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->contains(ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(c->contains(ip("::ffff:11.1.2.3")));
}

TEST(Cidr, RejectsMalformed) {
  for (const char* bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8",
        "300.0.0.0/8", "host.example/24", " 10.0.0.0/8", "10.0.0.0/8 ", "fe80::1%eth0/64",
        "10.0.0.0/0008", "10.0.0.0/8/8"}) {
    std::string error;
    EXPECT_FALSE(Cidr::parse(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(Cidr, ValidateReportsEachBadEntry) {
  EXPECT_TRUE(validate_cidrs({"10.0.0.0/8", "::1"}).empty());
  const auto errors = validate_cidrs({"10.0.0.0/8", "nope", "1.2.3.4/40"});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("nope"), std::string::npos);
  EXPECT_NE(errors[1].find("1.2.3.4/40"), std::string::npos);
}

TEST(Cidr, ListAllowsAnyMatchAndEmptyMeansAnyone) {
  EXPECT_TRUE(cidrs_allow({}, ip("1.2.3.4")));
  const std::vector<std::string> list = {"10.0.0.0/8", "2001:db8::/32"};
  EXPECT_TRUE(cidrs_allow(list, ip("10.9.9.9")));
  EXPECT_TRUE(cidrs_allow(list, ip("2001:db8::5")));
  EXPECT_FALSE(cidrs_allow(list, ip("192.168.0.1")));
}

TEST(Cidr, UnparsableEntryFailsClosed) {
  EXPECT_FALSE(cidrs_allow({"10.0.0.0/8", "garbage"}, ip("10.1.1.1")));
  EXPECT_FALSE(cidrs_allow({"garbage", "0.0.0.0/0"}, ip("10.1.1.1")));
}

}  // namespace
}  // namespace keygate::auth
