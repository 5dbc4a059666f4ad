#include "auth/credential.h"

#include <gtest/gtest.h>

#include <map>

namespace keygate::auth {
namespace {

using Kind = conf::KeySource::Kind;

// Case-insensitive, like Beast's field containers.
class Headers {
 public:
  Headers(std::initializer_list<std::pair<const std::string, std::string>> items) {
    for (const auto& [name, value] : items) values_[lower(name)] = value;
  }
  std::optional<std::string_view> operator()(std::string_view name) const {
    const auto it = values_.find(lower(std::string(name)));
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  std::map<std::string, std::string> values_;
};

conf::RouteAuthConfig all_sources() {
  conf::RouteAuthConfig route;
  route.sources = {
      {Kind::bearer, "authorization"}, {Kind::header, "x-api-key"}, {Kind::query, "api_key"}};
  return route;
}

TEST(Credential, BearerHeader) {
  const Headers headers{{"Authorization", "Bearer sk_live_abc"}};
  const Credential c = extract_credential(all_sources(), headers, "");
  ASSERT_TRUE(c.found());
  EXPECT_EQ(c.source(), Kind::bearer);
  EXPECT_EQ(c.raw(), "sk_live_abc");
}

TEST(Credential, BearerSchemeIsCaseInsensitiveAndTokenTrimmed) {
  for (const char* value :
       {"bearer sk_live_abc", "BEARER  sk_live_abc  ", "  Bearer\tsk_live_abc"}) {
    const Headers headers{{"authorization", value}};
    const Credential c = extract_credential(all_sources(), headers, "");
    ASSERT_TRUE(c.found()) << value;
    EXPECT_EQ(c.raw(), "sk_live_abc") << value;
  }
}

TEST(Credential, OtherSchemeFallsThroughToNextSource) {
  const Headers headers{{"Authorization", "Basic dXNlcjpwYXNz"}, {"X-Api-Key", "sk_live_hdr"}};
  const Credential c = extract_credential(all_sources(), headers, "");
  ASSERT_TRUE(c.found());
  EXPECT_EQ(c.source(), Kind::header);
  EXPECT_EQ(c.raw(), "sk_live_hdr");
}

TEST(Credential, EmptyBearerIsNotAKey) {
  const Headers headers{{"Authorization", "Bearer   "}};
  EXPECT_FALSE(extract_credential(all_sources(), headers, "").found());
  const Headers bare{{"Authorization", "Bearer"}};
  EXPECT_FALSE(extract_credential(all_sources(), bare, "").found());
}

TEST(Credential, NamedHeaderTrimmed) {
  const Headers headers{{"x-api-key", "  sk_live_hdr \t"}};
  const Credential c = extract_credential(all_sources(), headers, "");
  ASSERT_TRUE(c.found());
  EXPECT_EQ(c.source(), Kind::header);
  EXPECT_EQ(c.raw(), "sk_live_hdr");
}

TEST(Credential, QueryParameter) {
  const Headers none{};
  const Credential c = extract_credential(all_sources(), none, "a=1&api_key=pk_live_q&b=2");
  ASSERT_TRUE(c.found());
  EXPECT_EQ(c.source(), Kind::query);
  EXPECT_EQ(c.raw(), "pk_live_q");
}

TEST(Credential, QueryParameterPercentDecoded) {
  const Headers none{};
  Credential c = extract_credential(all_sources(), none, "?api_key=pk%5Flive%5fq");
  ASSERT_TRUE(c.found());
  EXPECT_EQ(c.raw(), "pk_live_q");
  // A moved credential keeps its owned key (no view into the moved-from string).
  const Credential moved = std::move(c);
  EXPECT_EQ(moved.raw(), "pk_live_q");
}

TEST(Credential, QueryMalformedEscapeKeptLiterally) {
  const Headers none{};
  const Credential c = extract_credential(all_sources(), none, "api_key=ab%zz%4");
  ASSERT_TRUE(c.found());
  EXPECT_EQ(c.raw(), "ab%zz%4");
}

TEST(Credential, QueryNameMustMatchWholeName) {
  const Headers none{};
  EXPECT_FALSE(extract_credential(all_sources(), none, "xapi_key=1&api_keys=2").found());
  EXPECT_FALSE(extract_credential(all_sources(), none, "api_key=&api_key").found());
  EXPECT_EQ(extract_credential(all_sources(), none, "api_key=first&api_key=second").raw(), "first");
}

TEST(Credential, SourcesTriedInRouteOrder) {
  conf::RouteAuthConfig route;
  route.sources = {{Kind::query, "api_key"}, {Kind::header, "x-api-key"}};
  const Headers headers{{"Authorization", "Bearer from_bearer"}, {"x-api-key", "from_header"}};
  Credential c = extract_credential(route, headers, "api_key=from_query");
  EXPECT_EQ(c.source(), Kind::query);
  EXPECT_EQ(c.raw(), "from_query");
  c = extract_credential(route, headers, "");
  EXPECT_EQ(c.source(), Kind::header);
  EXPECT_EQ(c.raw(), "from_header");
}

TEST(Credential, SourceNotConfiguredIsIgnored) {
  conf::RouteAuthConfig route;
  route.sources = {{Kind::bearer, "authorization"}};
  const Headers headers{{"x-api-key", "sk_live_hdr"}};
  EXPECT_FALSE(extract_credential(route, headers, "api_key=sk_live_q").found());
}

TEST(Credential, MissingEverywhere) {
  const Headers none{};
  const Credential c = extract_credential(all_sources(), none, "a=b");
  EXPECT_FALSE(c.found());
  EXPECT_EQ(c.raw(), "");
}

TEST(Credential, OversizedKeyIsFoundButEmpty) {
  const std::string huge(kMaxKeyLength + 1, 'a');
  const Headers headers{{"x-api-key", huge}};
  Credential c = extract_credential(all_sources(), headers, "");
  EXPECT_TRUE(c.found());
  EXPECT_TRUE(c.oversized());
  EXPECT_EQ(c.raw(), "");
  const Headers none{};
  c = extract_credential(all_sources(), none, "api_key=" + std::string(10000, '%'));
  EXPECT_TRUE(c.oversized());
  c = extract_credential(all_sources(), none, "api_key=" + huge);
  EXPECT_TRUE(c.oversized());
  const std::string exact(kMaxKeyLength, 'a');
  const Headers ok{{"x-api-key", exact}};
  EXPECT_FALSE(extract_credential(all_sources(), ok, "").oversized());
}

TEST(RemoveQueryParam, Cases) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"/v1/x", "/v1/x"},
      {"/v1/x?api_key=abc", "/v1/x"},
      {"/v1/x?a=1&api_key=abc&b=2", "/v1/x?a=1&b=2"},
      {"/v1/x?api_key=abc&b=2", "/v1/x?b=2"},
      {"/v1/x?a=1&api_key=abc", "/v1/x?a=1"},
      {"/v1/x?api_key=1&a=%20&api_key=2&c", "/v1/x?a=%20&c"},  // every occurrence
      {"/v1/x?api_key", "/v1/x"},
      {"/v1/x?api_keys=1&xapi_key=2", "/v1/x?api_keys=1&xapi_key=2"},
      {"/v1/x?", "/v1/x?"},
      {"/v1/x?a=1&&b=2", "/v1/x?a=1&&b=2"},  // byte for byte otherwise
      {"/v1/x?b=2&a=1", "/v1/x?b=2&a=1"},    // order kept
      {"/v1/x?api_key=a?b=c&d=e", "/v1/x?d=e"},
  };
  for (const Case& c : cases) EXPECT_EQ(remove_query_param(c.in, "api_key"), c.out) << c.in;
}

// Found by fuzzing (tests/fuzz/credential): query_value() tolerates a leading '?', so
// "/x??api_key=KEY" authenticated with KEY while remove_query_param() kept "?api_key=KEY" and
// the key went upstream (caught only by the stray-key filter, for well-formed keys).
TEST(RemoveQueryParam, RemovesTheSpellingWithALeadingQuestionMarkThatAuthenticated) {
  const std::string target = "/v1/x??api_key=abc&b=2";
  conf::RouteAuthConfig route;
  route.sources = {{Kind::query, "api_key"}};
  const auto credential = extract_credential(route, Headers{}, query_of(target));
  ASSERT_TRUE(credential.found());
  EXPECT_EQ(credential.raw(), "abc");
  const std::string stripped = remove_query_param(target, "api_key");
  EXPECT_EQ(stripped, "/v1/x?b=2");
  EXPECT_FALSE(credential_detail::query_value(query_of(stripped), "api_key"));
  EXPECT_EQ(remove_query_param("/v1/x?a=1&?api_key=abc", "api_key"), "/v1/x?a=1");
  EXPECT_EQ(remove_query_param("/v1/x??api_keys=1", "api_key"), "/v1/x??api_keys=1");
}

TEST(QueryOf, SplitsTarget) {
  EXPECT_EQ(query_of("/a?b=c"), "b=c");
  EXPECT_EQ(query_of("/a"), "");
  EXPECT_EQ(query_of("/a?"), "");
}

}  // namespace
}  // namespace keygate::auth
