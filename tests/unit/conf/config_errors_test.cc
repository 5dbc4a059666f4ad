// One test per kind of configuration error: the snippet, and the exact `file:line:col:
// message` it must produce.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/conf/load_helpers.h"

namespace keygate::conf {
namespace {

using ::testing::ElementsAre;
using testing::error_strings;
using ::testing::HasSubstr;
using testing::load;
using testing::load_with_required;
using testing::loaded;
using testing::only_error;
using ::testing::StartsWith;

constexpr const char* kUpstreamAndStore = R"(upstreams: [{name: api, url: "http://127.0.0.1:3000"}]
store: {kind: file, file: keys.yaml}
)";

// Routes under test after an upstream and a store, so route lines start at line 3.
LoadResult load_routes(const std::string& routes) {
  return load(kUpstreamAndStore + routes);
}

TEST(ConfigErrors, YamlSyntaxErrorIsReportedWithItsPosition) {
  EXPECT_EQ(only_error(load("threads: 2\n  listeners: 3\n")), "t.yaml:2:12: illegal map value");
}

TEST(ConfigErrors, NeverThrowsOnGarbage) {
  for (const char* text :
       {"{{{", "]", "\t- a", "a: *missing_anchor", "\xff\xfe\x00", "- [", "key: \"unterminated"}) {
    LoadResult result;
    EXPECT_NO_THROW(result = load(text)) << text;
    EXPECT_FALSE(result.ok()) << text;
    EXPECT_FALSE(result.errors.empty()) << text;
  }
}

TEST(ConfigErrors, DocumentMustBeAMap) {
  EXPECT_EQ(only_error(load("- a\n- b\n")),
            "t.yaml:1:1: the configuration must be a map, got a list");
}

TEST(ConfigErrors, UnknownTopLevelKeyWithSuggestion) {
  EXPECT_EQ(only_error(load_with_required("thread: 2\n")),
            "t.yaml:1:1: unknown key 'thread' at the top level (did you mean 'threads'?)");
}

TEST(ConfigErrors, UnknownKeyInRouteWithSuggestion) {
  auto result = load_routes(
      "routes:\n"
      "  - name: v1\n"
      "    match: {path_prefix: /v1/}\n"
      "    uptream: api\n");
  EXPECT_THAT(error_strings(result),
              ElementsAre("t.yaml:4:5: route needs 'upstream'",
                          "t.yaml:6:5: unknown key 'uptream' in route (did you mean 'upstream'?)"));
}

TEST(ConfigErrors, UnknownKeyDeepInside) {
  EXPECT_EQ(only_error(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: redis, redis: {hots: redis}}\n")),
            "t.yaml:3:30: unknown key 'hots' in store redis (did you mean 'host'?)");
}

TEST(ConfigErrors, KeyGivenTwice) {
  EXPECT_EQ(only_error(load_with_required("threads: 1\nthreads: 2\n")),
            "t.yaml:2:1: key 'threads' appears twice at the top level (first at line 1)");
}

TEST(ConfigErrors, WrongTypes) {
  EXPECT_EQ(only_error(load_with_required("admin: on\n")),
            "t.yaml:1:8: admin must be a map, got 'on'");
  EXPECT_EQ(only_error(load_with_required("listeners: 0.0.0.0:8080\n")),
            "t.yaml:1:12: listeners must be a list, got '0.0.0.0:8080'");
  EXPECT_EQ(only_error(load_with_required("threads: many\n")),
            "t.yaml:1:10: threads must be a whole number, got 'many'");
  EXPECT_EQ(only_error(load_with_required("threads: [1]\n")),
            "t.yaml:1:10: threads must be a whole number, got a list");
  EXPECT_EQ(only_error(load_with_required("access_log: {enabled: yes}\n")),
            "t.yaml:1:23: access_log enabled must be true or false, got 'yes'");
  EXPECT_EQ(only_error(load_with_required("access_log: {path: {a: b}}\n")),
            "t.yaml:1:20: access_log path must be a string, got a map");
  EXPECT_EQ(only_error(load_with_required("admin:\n  token_env:\n")),
            "t.yaml:2:3: admin token_env must be a string, got nothing");
}

TEST(ConfigErrors, DurationWithoutUnitGetsAHint) {
  EXPECT_EQ(only_error(load_with_required("limits: {idle_timeout: 30}\n")),
            "t.yaml:1:24: limits idle_timeout: duration '30' has no unit; write e.g. '30s' "
            "(units: ms, s, m, h, d; e.g. 250ms, 2s, 5m, 1h, 30d)");
}

TEST(ConfigErrors, BadDurations) {
  EXPECT_THAT(only_error(load_with_required("usage: {flush_interval: 1.5s}\n")),
              StartsWith("t.yaml:1:25: usage flush_interval: duration '1.5s' must be a whole "
                         "number"));
  EXPECT_THAT(only_error(load_with_required("usage: {flush_interval: 5sec}\n")),
              StartsWith("t.yaml:1:25: usage flush_interval: unknown duration unit 'sec'"));
  EXPECT_EQ(only_error(load_with_required("limits: {idle_timeout: 0s}\n")),
            "t.yaml:1:24: limits idle_timeout must be longer than 0");
  // Zero is meaningful for these: no drain, no negative caching.
  loaded(load_with_required("limits: {drain_timeout: 0s}\ncache: {negative_ttl: 0ms}\n"));
}

TEST(ConfigErrors, BadSizes) {
  EXPECT_EQ(only_error(load_with_required("limits: {max_body: 10mb}\n")),
            "t.yaml:1:20: limits max_body: unknown size unit 'mb' in '10mb' (units: B, KB, MB, "
            "GB, KiB, MiB, GiB; e.g. 512, 16KiB, 10MiB)");
  EXPECT_EQ(only_error(load_with_required("limits: {max_header: 100}\n")),
            "t.yaml:1:22: limits max_header must be between 1KiB and 1MiB, got 100 bytes");
}

TEST(ConfigErrors, UpstreamTlsOnAnHttpUrl) {
  EXPECT_EQ(only_error(load(
                "upstreams: [{name: api, url: \"http://127.0.0.1:3000\", tls: {ca_file: ca.pem}}]\n"
                "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                "store: {kind: file, file: keys.yaml}\n")),
            "t.yaml:1:60: upstream tls is only used with an https:// url, got "
            "'http://127.0.0.1:3000'");
}

TEST(ConfigErrors, UpstreamTlsCertWithoutKey) {
  EXPECT_EQ(only_error(load(
                "upstreams: [{name: api, url: \"https://api.test\", tls: {cert_file: c.pem}}]\n"
                "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                "store: {kind: file, file: keys.yaml}\n")),
            "t.yaml:1:67: upstream tls cert_file needs key_file too");
}

TEST(ConfigErrors, UpstreamTlsCaFileWithInsecureSkipVerify) {
  EXPECT_EQ(only_error(load("upstreams: [{name: api, url: \"https://api.test\", tls: "
                            "{insecure_skip_verify: true, ca_file: ca.pem}}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: file, file: keys.yaml}\n")),
            "t.yaml:1:93: upstream tls ca_file has no effect with insecure_skip_verify: true");
}

TEST(ConfigErrors, ListenerTlsNeedsACertificate) {
  EXPECT_EQ(only_error(load_with_required("listeners: [{port: 8443, tls: {key_file: k.pem}}]\n")),
            "t.yaml:1:31: listener tls needs 'cert_file'");
}

TEST(ConfigErrors, ListenerTlsBadMinVersion) {
  EXPECT_THAT(
      only_error(load_with_required(
          "listeners: [{port: 8443, tls: {cert_file: c, key_file: k, min_version: 1.1}}]\n")),
      StartsWith("t.yaml:1:72: listener tls min_version must be 1.2 or 1.3, got '1.1'"));
}

TEST(ConfigErrors, ListenerTlsRequireClientCertNeedsCa) {
  EXPECT_EQ(
      only_error(load_with_required("listeners: [{port: 8443, tls: {cert_file: c, key_file: k, "
                                    "require_client_cert: true}}]\n")),
      "t.yaml:1:80: listener tls require_client_cert needs client_ca_file: the CAs that "
      "sign the client certificates");
}

TEST(ConfigErrors, ListenerTlsAlpnH2IsRefused) {
  EXPECT_EQ(only_error(load_with_required(
                "listeners: [{port: 8443, tls: {cert_file: c, key_file: k, alpn: [h2]}}]\n")),
            "t.yaml:1:65: listener tls alpn 'h2' is not supported: keygate speaks http/1.1 and "
            "http/1.0");
}

TEST(ConfigErrors, ListenerTlsCertificateNeedsServerNames) {
  EXPECT_EQ(
      only_error(load_with_required("listeners: [{port: 8443, tls: {cert_file: c, key_file: k, "
                                    "certificates: [{cert_file: a, key_file: b}]}}]\n")),
      "t.yaml:1:74: listener tls certificate needs 'server_names'");
}

TEST(ConfigErrors, RouteMtlsNeedsAListenerAskingForClientCerts) {
  EXPECT_EQ(only_error(load_routes("routes: [{name: internal, match: {path_prefix: /}, "
                                   "upstream: api, auth: {mtls: required}}]\n")),
            "t.yaml:3:10: route 'internal' has auth mtls: required, but no listener asks for "
            "client certificates (set listeners tls client_ca_file)");
}

TEST(ConfigErrors, RedisTlsIsRefusedRatherThanConnectingInClear) {
  EXPECT_THAT(only_error(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                              "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                              "store: {kind: redis, redis: {host: r, tls: true}}\n")),
              StartsWith("t.yaml:3:44: store redis tls: true is not supported: hiredis 0.14 "
                         "(Debian bookworm) has no TLS"));
}

TEST(ConfigErrors, MalformedUpstreamUrls) {
  auto with_url = [](const std::string& url) {
    return load("upstreams: [{name: api, url: \"" + url +
                "\"}]\nroutes: [{match: {path_prefix: /}, upstream: api}]\n"
                "store: {kind: file, file: keys.yaml}\n");
  };
  EXPECT_THAT(only_error(with_url("http://api:70000")),
              StartsWith("t.yaml:1:30: upstream url 'http://api:70000': port '70000' is out of "
                         "range"));
  EXPECT_THAT(only_error(with_url("api:3000")), HasSubstr("unsupported scheme 'api'"));
  EXPECT_THAT(only_error(with_url("http://api/x?y=1")), HasSubstr("query or a fragment"));
  EXPECT_EQ(only_error(load("upstreams: [{name: api}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: file, file: keys.yaml}\n")),
            "t.yaml:1:13: upstream needs 'url'");
}

TEST(ConfigErrors, PortsOutOfRange) {
  EXPECT_EQ(only_error(load_with_required("listeners: [{address: 0.0.0.0, port: 70000}]\n")),
            "t.yaml:1:38: listener port must be between 0 and 65535, got 70000");
  EXPECT_EQ(only_error(load_with_required("admin: {port: -1}\n")),
            "t.yaml:1:15: admin port must be between 0 and 65535, got -1");
  EXPECT_EQ(only_error(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: redis, redis: {port: 0}}\n")),
            "t.yaml:3:36: store redis port must be between 1 and 65535, got 0");
}

TEST(ConfigErrors, LimiterBatchOutOfRange) {
  EXPECT_EQ(only_error(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: redis, redis: {limiter_batch: 0}}\n")),
            "t.yaml:3:45: store redis limiter_batch must be between 1 and 1000, got 0");
}

TEST(ConfigErrors, ListenerAddressMustBeNumeric) {
  EXPECT_EQ(only_error(load_with_required("listeners: [{address: localhost}]\n")),
            "t.yaml:1:23: listener address must be a numeric IP address (e.g. 0.0.0.0, "
            "127.0.0.1, ::), got 'localhost'");
}

TEST(ConfigErrors, RouteNamesAMissingUpstream) {
  EXPECT_EQ(only_error(load_routes("routes:\n"
                                   "  - match: {path_prefix: /}\n"
                                   "    upstream: apo\n")),
            "t.yaml:5:15: route 'route-0': unknown upstream 'apo' (did you mean 'api'?)");
}

TEST(ConfigErrors, DuplicateRouteNames) {
  EXPECT_EQ(only_error(load_routes("routes:\n"
                                   "  - {name: a, match: {path_prefix: /a}, upstream: api}\n"
                                   "  - {name: a, match: {path_prefix: /b}, upstream: api}\n")),
            "t.yaml:5:12: duplicate route name 'a' (first defined at line 4)");
}

TEST(ConfigErrors, DuplicateRoutesWithOverlappingMethods) {
  EXPECT_EQ(only_error(load_routes(
                "routes:\n"
                "  - {name: a, match: {path_prefix: /v1/, methods: [GET, POST]}, upstream: api}\n"
                "  - {name: b, match: {path_prefix: /v1/, methods: [post]}, upstream: api}\n")),
            "t.yaml:5:5: route 'b' duplicates route 'a' (line 4): same host, path and methods, so "
            "it would never be used");
  // No methods means every method, so it overlaps anything.
  EXPECT_THAT(only_error(load_routes("routes:\n"
                                     "  - {match: {path: /x}, upstream: api}\n"
                                     "  - {match: {path: /x, methods: [GET]}, upstream: api}\n")),
              StartsWith("t.yaml:5:5: route 'route-1' duplicates route 'route-0'"));
}

TEST(ConfigErrors, SimilarRoutesThatAreNotDuplicates) {
  loaded(load_routes(
      "routes:\n"
      "  - {match: {path_prefix: /v1/, methods: [GET]}, upstream: api}\n"
      "  - {match: {path_prefix: /v1/, methods: [POST]}, upstream: api}\n"
      "  - {match: {path_prefix: /v1/, host: a.example.com, methods: [GET]}, upstream: api}\n"
      "  - {match: {path: /v1/, methods: [GET]}, upstream: api}\n"
      "  - {match: {path_prefix: /v1}, upstream: api}\n"));
}

TEST(ConfigErrors, DuplicateUpstreamPolicyAndPlanNames) {
  EXPECT_EQ(only_error(load("upstreams:\n"
                            "  - {name: api, url: \"http://a\"}\n"
                            "  - {name: api, url: \"http://b\"}\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: file, file: keys.yaml}\n")),
            "t.yaml:3:12: duplicate upstream name 'api' (first defined at line 2)");
  EXPECT_EQ(only_error(load_with_required("rate_limits:\n"
                                          "  policies:\n"
                                          "    - {name: p, limit: 1, window: 1s}\n"
                                          "    - {name: p, limit: 2, window: 1s}\n")),
            "t.yaml:4:14: duplicate rate limit policy name 'p' (first defined at line 3)");
  EXPECT_EQ(only_error(load_with_required("keys:\n"
                                          "  plans:\n"
                                          "    - {name: free}\n"
                                          "    - {name: free}\n"
                                          "  default_plan: free\n")),
            "t.yaml:4:14: duplicate plan name 'free' (first defined at line 3)");
}

TEST(ConfigErrors, RateLimitsNamingMissingPolicies) {
  auto result = load(
      "keys:\n"
      "  plans: [{name: free, rate_limits: [nope]}]\n"
      "  type_rate_limits: {public: [gone]}\n"
      "  default_plan: free\n"
      "rate_limits:\n"
      "  policies: [{name: per-key, limit: 1, window: 1s}]\n"
      "upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
      "routes: [{match: {path_prefix: /}, upstream: api, rate_limits: [per-kye]}]\n"
      "store: {kind: file, file: keys.yaml}\n");
  EXPECT_THAT(
      error_strings(result),
      ElementsAre("t.yaml:2:38: plan 'free': unknown rate limit policy 'nope' (defined: per-key)",
                  "t.yaml:3:31: keys type_rate_limits public: unknown rate limit policy 'gone' "
                  "(defined: per-key)",
                  "t.yaml:8:65: route 'route-0': unknown rate limit policy 'per-kye' (did you mean "
                  "'per-key'?)"));
}

TEST(ConfigErrors, DefaultPlanMissingFromPlans) {
  EXPECT_EQ(only_error(load_with_required("keys: {default_plan: pro, plans: [{name: basic}]}\n")),
            "t.yaml:1:22: keys default_plan: unknown plan 'pro' (defined: basic)");
}

TEST(ConfigErrors, DefaultPlanWithoutPlans) {
  EXPECT_EQ(only_error(load_with_required("keys: {default_plan: pro}\n")),
            "t.yaml:1:22: keys default_plan: unknown plan 'pro' (none are defined)");
}

TEST(ConfigErrors, PlansWithoutDefaultPlan) {
  EXPECT_EQ(only_error(load_with_required("keys: {plans: [{name: basic}, {name: pro}]}\n")),
            "t.yaml:1:15: keys default_plan is required with plans: name the plan orgs get when "
            "their first key creates them (one of basic, pro)");
}

TEST(ConfigErrors, UnknownEnvironmentAndTypeInRouteAuth) {
  auto result = load_routes(
      "routes:\n"
      "  - match: {path_prefix: /}\n"
      "    upstream: api\n"
      "    auth: {environments: [prod], key_types: [secrte]}\n");
  EXPECT_THAT(
      error_strings(result),
      ElementsAre("t.yaml:6:27: route 'route-0': unknown environment 'prod' (defined: live, test)",
                  "t.yaml:6:46: route 'route-0': unknown key type 'secrte' (did you mean "
                  "'secret'?)"));
}

TEST(ConfigErrors, UnknownEnvironmentAndTypeInPrefixes) {
  auto result = load_with_required(
      "keys:\n"
      "  prefixes:\n"
      "    - {environment: prod, type: secret, prefix: sk_prod_}\n"
      "    - {environment: live, type: secert, prefix: sk_live_}\n");
  EXPECT_THAT(error_strings(result),
              ElementsAre("t.yaml:3:21: key prefix: unknown environment 'prod' (defined: live, "
                          "test)",
                          "t.yaml:4:33: key prefix: unknown key type 'secert' (did you mean "
                          "'secret'?)"));
}

TEST(ConfigErrors, KeyPrefixFormat) {
  EXPECT_EQ(
      only_error(load_with_required("keys:\n"
                                    "  prefixes:\n"
                                    "    - {environment: live, type: secret, prefix: SK-live}\n")),
      "t.yaml:3:49: key prefix 'SK-live' must be lower-case letters and digits in words "
      "joined by '_' and ending in '_', like sk_live_");
  for (const char* bad : {"sk_live", "_sk_", "sk__live_", "sk-live_", "_"}) {
    auto result = load_with_required(std::string("keys: {prefixes: [{environment: live, ") +
                                     "type: secret, prefix: \"" + bad + "\"}]}\n");
    EXPECT_THAT(only_error(result), HasSubstr("must be lower-case letters")) << bad;
  }
}

TEST(ConfigErrors, AmbiguousKeyPrefixes) {
  EXPECT_EQ(
      only_error(load_with_required("keys:\n"
                                    "  prefixes:\n"
                                    "    - {environment: live, type: secret, prefix: sk_}\n"
                                    "    - {environment: test, type: secret, prefix: sk_test_}\n")),
      "t.yaml:4:49: key prefixes 'sk_' (line 3) and 'sk_test_' are ambiguous: one is a "
      "prefix of the other");
  EXPECT_EQ(
      only_error(load_with_required("keys:\n"
                                    "  prefixes:\n"
                                    "    - {environment: live, type: secret, prefix: sk_}\n"
                                    "    - {environment: live, type: public, prefix: sk_}\n")),
      "t.yaml:4:49: key prefix 'sk_' is used twice (line 3) (types 'secret' and 'public')");
  EXPECT_EQ(
      only_error(load_with_required("keys:\n"
                                    "  prefixes:\n"
                                    "    - {environment: live, type: secret, prefix: sk_live_}\n"
                                    "    - {environment: live, type: secret, prefix: sk_prod_}\n")),
      "t.yaml:4:7: environment 'live' and type 'secret' already have a key prefix");
}

TEST(ConfigErrors, GeneratedPrefixesThatCollide) {
  // Both types start with "se", so the generated prefixes are equal in each environment.
  auto errors = error_strings(load_with_required("keys: {types: [service, server]}\n"));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], StartsWith("t.yaml:1:15: key prefix 'se_test_' is used twice"));
  EXPECT_THAT(errors[0], HasSubstr("set keys.prefixes explicitly"));
  EXPECT_THAT(errors[1], StartsWith("t.yaml:1:15: key prefix 'se_live_' is used twice"));
}

TEST(ConfigErrors, EnvironmentAndTypeNamesAreLowerCaseWords) {
  EXPECT_EQ(only_error(load_with_required("keys: {environments: [Live]}\n")),
            "t.yaml:1:23: keys environments: 'Live' must be lower-case letters and digits, "
            "words joined by '_'");
  EXPECT_EQ(only_error(load_with_required("keys: {types: [secret, secret]}\n")),
            "t.yaml:1:24: duplicate key type name 'secret' (first defined at line 1)");
}

TEST(ConfigErrors, FileStoreWithoutFile) {
  EXPECT_EQ(only_error(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n"
                            "store: {kind: file}\n")),
            "t.yaml:3:8: store kind 'file' needs 'file': the path of the key records file");
  // No store section at all: the default kind is file, which still needs a file.
  EXPECT_EQ(only_error(load("upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
                            "routes: [{match: {path_prefix: /}, upstream: api}]\n")),
            "t.yaml:1:1: store kind 'file' needs 'file': the path of the key records file");
}

TEST(ConfigErrors, NegativeThreads) {
  EXPECT_EQ(only_error(load_with_required("threads: -1\n")),
            "t.yaml:1:10: threads must be between 0 and 1024, got -1");
}

TEST(ConfigErrors, AdminOffLoopbackNeedsAToken) {
  EXPECT_EQ(only_error(load_with_required("admin: {address: 0.0.0.0}\n")),
            "t.yaml:1:18: the management API refuses to listen on a non-loopback address "
            "(0.0.0.0) without an admin token: set admin token_env or token_file");
  EXPECT_THAT(only_error(load_with_required("admin: {address: \"::\"}\n")),
              HasSubstr("refuses to listen on a non-loopback address (::)"));
  loaded(load_with_required("admin: {address: 0.0.0.0, token_env: KEYGATE_ADMIN_TOKEN}\n"));
  loaded(load_with_required("admin: {address: 10.0.0.5, token_file: /run/secrets/admin}\n"));
  loaded(load_with_required("admin: {address: 0.0.0.0, enabled: false}\n"));
  loaded(load_with_required("admin: {address: \"::1\"}\n"));
  loaded(load_with_required("admin: {address: 127.0.0.2}\n"));
}

TEST(ConfigErrors, RoutePathMustStartWithSlash) {
  EXPECT_EQ(only_error(load_routes("routes: [{match: {path_prefix: v1}, upstream: api}]\n")),
            "t.yaml:3:32: route match path_prefix must start with '/', got 'v1'");
  EXPECT_EQ(only_error(load_routes("routes: [{match: {path: health}, upstream: api}]\n")),
            "t.yaml:3:25: route match path must start with '/', got 'health'");
}

TEST(ConfigErrors, RouteMatchNeedsExactlyOnePath) {
  EXPECT_EQ(only_error(load_routes("routes: [{match: {methods: [GET]}, upstream: api}]\n")),
            "t.yaml:3:18: route match needs 'path_prefix' or 'path' (use path_prefix: / to "
            "match all)");
  EXPECT_EQ(
      only_error(load_routes("routes: [{match: {path: /a, path_prefix: /a}, upstream: api}]\n")),
      "t.yaml:3:25: route match takes either 'path' (exact) or 'path_prefix', not both");
}

TEST(ConfigErrors, ZeroLimitAndWindow) {
  auto result = load_with_required("rate_limits: {policies: [{name: p, limit: 0, window: 0s}]}\n");
  EXPECT_THAT(error_strings(result),
              ElementsAre("t.yaml:1:43: rate limit policy limit must be at least 1, got 0",
                          "t.yaml:1:54: rate limit policy window must be longer than 0"));
}

TEST(ConfigErrors, MonthlyQuotaMustCountPerOrg) {
  EXPECT_EQ(only_error(load_with_required(
                "rate_limits: {policies: [{name: q, per: key, limit: 5, monthly_quota: true}]}\n")),
            "t.yaml:1:41: monthly_quota policy 'q' must count per org (all keys of an org share "
            "the quota)");
  // per defaults to key, so leaving it out is the same mistake.
  EXPECT_THAT(only_error(load_with_required(
                  "rate_limits: {policies: [{name: q, limit: 5, monthly_quota: true}]}\n")),
              StartsWith("t.yaml:1:26: monthly_quota policy 'q' must count per org"));
  EXPECT_THAT(only_error(load_with_required("rate_limits: {policies: [{name: q, per: org, limit: "
                                            "5, window: 31d, monthly_quota: true}]}\n")),
              HasSubstr("counts over 30 days"));
}

TEST(ConfigErrors, BurstOnlyForTokenBucket) {
  EXPECT_EQ(only_error(load_with_required(
                "rate_limits: {policies: [{name: p, algorithm: fixed_window, burst: 5}]}\n")),
            "t.yaml:1:68: rate limit policy burst only applies to algorithm token_bucket");
}

TEST(ConfigErrors, LeaseWithinItsRange) {
  EXPECT_EQ(only_error(load_with_required(
                "rate_limits: {policies: [{name: p, limit: 5, lease: 2000000}]}\n")),
            "t.yaml:1:53: rate limit policy lease must be between 0 and 1000000, got 2000000");
}

TEST(ConfigErrors, UnknownEnumValueWithSuggestion) {
  EXPECT_EQ(only_error(load_routes("routes: [{match: {path_prefix: /}, upstream: api, "
                                   "rate_limit_failure: fail-open}]\n")),
            "t.yaml:3:71: route rate_limit_failure must be fail_open, fail_closed or local, got "
            "'fail-open' (did you mean 'fail_open'?)");
}

TEST(ConfigErrors, HmacHashNeedsAPepper) {
  EXPECT_EQ(only_error(load_with_required("keys: {hash: hmac-sha256}\n")),
            "t.yaml:1:14: keys hash hmac-sha256 needs a pepper: set pepper_env or pepper_file");
  EXPECT_EQ(only_error(load_with_required("keys: {pepper_env: PEPPER}\n")),
            "t.yaml:1:7: keys pepper_env / pepper_file are only used with hash: hmac-sha256");
}

TEST(ConfigErrors, PublicRouteCannotUsePerKeyLimits) {
  EXPECT_EQ(only_error(load_routes(
                "rate_limits: {policies: [{name: k, per: key, limit: 1, window: 1s}]}\n"
                "routes: [{name: open, match: {path_prefix: /}, upstream: api, auth: none, "
                "rate_limits: [k]}]\n")),
            "t.yaml:4:10: route 'open' has auth: none, so policy 'k' (per key) can never apply; "
            "use per: client_ip or per: route");
}

TEST(ConfigErrors, RouteAuthShape) {
  EXPECT_EQ(only_error(load_routes("routes: [{match: {path_prefix: /}, upstream: api, auth: "
                                   "open}]\n")),
            "t.yaml:3:57: route auth must be 'none' or a map, got 'open'");
  EXPECT_EQ(only_error(load_routes("routes: [{match: {path_prefix: /}, upstream: api, auth: "
                                   "{sources: [bearer, \"cookie:k\"]}}]\n")),
            "t.yaml:3:76: route auth source must be bearer, header:<name> or query:<name>, got "
            "'cookie:k'");
  EXPECT_EQ(only_error(load_routes("routes: [{match: {path_prefix: /}, upstream: api, auth: "
                                   "{sources: []}}]\n")),
            "t.yaml:3:67: route auth sources must not be empty (or use 'auth: none')");
}

TEST(ConfigErrors, NoRoutes) {
  EXPECT_EQ(only_error(load(kUpstreamAndStore)),
            "t.yaml:1:1: no routes are configured: every request would be answered 404");
  EXPECT_EQ(only_error(load_routes("routes: []\n")),
            "t.yaml:3:9: no routes are configured: every request would be answered 404");
}

TEST(ConfigErrors, UnreadableFile) {
  auto result = load_config_file("/nonexistent/keygate.yaml");
  EXPECT_EQ(only_error(result), "/nonexistent/keygate.yaml: cannot read the configuration file");
}

TEST(ConfigErrors, EveryErrorIsReportedInFileOrder) {
  // The missing upstream is found only after the whole file is read, yet it is listed in
  // its place between the others.
  auto result = load(
      "threads: -1\n"
      "routes: [{match: {path_prefix: /}, upstream: nowhere}]\n"
      "limits: {idle_timeout: 30}\n"
      "admin: {port: 70000}\n"
      "store: {kind: file, file: keys.yaml}\n");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.config, nullptr);
  std::vector<std::pair<int, int>> positions;
  for (const auto& error : result.errors) positions.emplace_back(error.line, error.column);
  EXPECT_THAT(positions,
              ElementsAre(std::pair(1, 10), std::pair(2, 46), std::pair(3, 24), std::pair(4, 15)));
  EXPECT_THAT(result.errors[1].message, HasSubstr("unknown upstream 'nowhere' (none are defined)"));
  EXPECT_EQ(result.errors[0].file, "t.yaml");
}

}  // namespace
}  // namespace keygate::conf

namespace keygate::conf {
namespace {

using testing::load_with_required;
using testing::loaded;
using testing::only_error;

TEST(ConfigErrors, TrustedProxiesMustBeNetworks) {
  EXPECT_EQ(only_error(load_with_required(
                "listeners: [{port: 8080, trusted_proxies: [10.0.0.0/8, ingress]}]\n")),
            "t.yaml:1:43: listener trusted_proxies entries must be addresses or networks in CIDR "
            "notation (e.g. 10.0.0.0/8), got 'ingress'");
  EXPECT_EQ(
      only_error(load_with_required("listeners: [{port: 8080, trusted_proxies: [10.0.0.0/33]}]\n")),
      "t.yaml:1:43: listener trusted_proxies entries must be addresses or networks in CIDR "
      "notation (e.g. 10.0.0.0/8), got '10.0.0.0/33'");
}

TEST(ConfigErrors, HttpHygieneChoicesAreNamed) {
  EXPECT_THAT(only_error(load_with_required("http: {escaped_slashes: decode}\n")),
              ::testing::StartsWith(
                  "t.yaml:1:25: http escaped_slashes must be reject or keep, got 'decode'"));
  EXPECT_THAT(
      only_error(load_with_required("http: {headers_with_underscores: keep}\n")),
      ::testing::StartsWith(
          "t.yaml:1:34: http headers_with_underscores must be drop, reject or allow, got 'keep'"));
  EXPECT_THAT(only_error(load_with_required("http: {normalise_path: true}\n")),
              ::testing::HasSubstr("unknown key 'normalise_path'"));
}

TEST(ConfigDefaults, RequestHygieneIsOnByDefault) {
  auto result = load_with_required(
      "listeners: [{port: 8080, trusted_proxies: [10.0.0.0/8, '::1']}]\n"
      "limits: {min_body_rate: 4KiB}\n");
  const Config& config = loaded(result);
  EXPECT_TRUE(config.http.normalize_path);
  EXPECT_TRUE(config.http.merge_slashes);
  EXPECT_EQ(config.http.escaped_slashes, HttpConfig::EscapedSlashes::reject);
  EXPECT_EQ(config.http.headers_with_underscores, HttpConfig::Underscores::drop);
  EXPECT_EQ(config.listeners.at(0).trusted_proxies.size(), 2u);
  EXPECT_EQ(config.limits.min_body_rate, 4096u);
  EXPECT_EQ(Config{}.limits.min_body_rate, 1024u);
}

}  // namespace
}  // namespace keygate::conf

namespace keygate::conf {
namespace {

using testing::load;
using testing::loaded;
using testing::only_error;

constexpr const char* kAuthorizeOnly = R"(routes: [{match: {path_prefix: /}}]
store: {kind: file, file: keys.yaml}
)";

TEST(ConfigErrors, AuthorizeSettingsBelongToAuthorizeListeners) {
  EXPECT_EQ(only_error(load_with_required("listeners: [{port: 1, authorize: {flavor: envoy}}]\n")),
            "t.yaml:1:34: listener authorize settings need mode: authorize");
  EXPECT_EQ(
      only_error(load("listeners: [{port: 1, mode: authorize, authorize: {path_prefix: /x}}]\n" +
                      std::string(kAuthorizeOnly))),
      "t.yaml:1:65: listener authorize path_prefix only applies to flavor envoy");
  EXPECT_EQ(only_error(load("listeners: [{port: 1, mode: authorize, authorize: {flavor: envoy, "
                            "uri_header: X-Uri}}]\n" +
                            std::string(kAuthorizeOnly))),
            "t.yaml:1:79: listener authorize uri_header does not apply to flavor envoy: ext_authz "
            "sends the original method, path and Host as its own");
  EXPECT_EQ(only_error(load("listeners: [{port: 1, mode: authorize, authorize: {flavor: envoy, "
                            "path_prefix: ext/}}]\n" +
                            std::string(kAuthorizeOnly))),
            "t.yaml:1:80: listener authorize path_prefix must start with '/' and not end with "
            "one, as in Envoy's http_service path_prefix, got 'ext/'");
}

TEST(ConfigErrors, OnlyAProxyListenerNeedsRoutesWithUpstreams) {
  // Authorize-only: no upstream anywhere is fine.
  auto result = load("listeners: [{port: 1, mode: authorize}]\n" + std::string(kAuthorizeOnly));
  const Config& config = loaded(result);
  EXPECT_EQ(config.listeners.at(0).authorize.flavor, AuthorizeConfig::Flavor::nginx);
  EXPECT_EQ(config.listeners.at(0).authorize.uri_header, "X-Original-URI");
  // With a proxy listener beside it, every route must say where it forwards to.
  EXPECT_THAT(only_error(load("listeners: [{port: 1, mode: authorize}, {port: 2}]\n" +
                              std::string(kAuthorizeOnly))),
              ::testing::HasSubstr("needs 'upstream'"));
}

}  // namespace
}  // namespace keygate::conf
