#include "proxy/router.h"

#include <gtest/gtest.h>

namespace keygate::proxy {
namespace {

conf::RouteConfig route(std::string name, std::string path, std::string host = "") {
  conf::RouteConfig r;
  r.name = std::move(name);
  r.path = std::move(path);
  r.host = std::move(host);
  return r;
}

std::string matched(const Router& router, std::string_view host, std::string_view path) {
  const auto* r = router.match(host, "GET", path);
  return r ? r->name : "none";
}

TEST(Router, PrefixesMatchAtSegmentBoundaries) {
  conf::Config config;
  config.routes = {route("public", "/public"), route("slash", "/docs/")};
  const Router router(config);
  EXPECT_EQ(matched(router, "", "/public"), "public");
  EXPECT_EQ(matched(router, "", "/public/x"), "public");
  EXPECT_EQ(matched(router, "", "/publicX"), "none");
  EXPECT_EQ(matched(router, "", "/public-admin"), "none");
  EXPECT_EQ(matched(router, "", "/docs/a"), "slash");
  EXPECT_EQ(matched(router, "", "/docs"), "none");
}

TEST(Router, HostRoutesMatchTheNormalisedName) {
  conf::Config config;
  config.routes = {route("internal", "/", "internal.example.com"), route("any", "/")};
  const Router router(config);
  EXPECT_EQ(matched(router, "internal.example.com", "/x"), "internal");
  EXPECT_EQ(matched(router, "other.example.com", "/x"), "any");
}

}  // namespace
}  // namespace keygate::proxy
