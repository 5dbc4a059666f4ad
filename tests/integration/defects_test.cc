// Regression tests for the defects of issue 10 that a new operator trips over, each against
// the real keygate binary: no hidden plan without keys.plans, the request-duration histogram,
// one JSON shape for keys in the CLI and the API (with paging and ?org=), rotation keeping the
// expiry date, and the same JSON conventions in the access log and the process log.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "tests/integration/admin_api_support.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

// No keys.plans, an admin token, one authenticated route and the access log in a file.
std::string plainest_config(std::uint16_t upstream_port) {
  return "threads: 1\n"
         "listeners: [{address: 127.0.0.1, port: 0}]\n"
         "admin: {address: 127.0.0.1, port: 0, token_file: admin.token}\n"
         "upstreams: [{name: api, url: \"http://127.0.0.1:" +
         std::to_string(upstream_port) +
         "\"}]\n"
         "routes:\n"
         "  - {name: v1, match: {path_prefix: /v1/}, upstream: api}\n"
         "  - {name: probe, match: {path_prefix: /probe/}, upstream: api}\n"
         "access_log: {path: access.log}\n" +
         kFileStoreYaml;
}

class DefectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keygate_ =
        std::make_unique<KeygateProcess>(plainest_config(upstream_.port()), options_with_token());
    admin_ = std::make_unique<AdminClient>(keygate_->admin_port());
  }

  // POST /v1/keys for `org`; returns the answer ({"key","record"}).
  boost::json::object create_key(const std::string& org, const std::string& extra = "") {
    return admin_->json(
        "POST", "/v1/keys",
        R"({"org":")" + org + R"(","name":"k","environment":"live","type":"secret")" + extra + "}",
        201);
  }

  // The proxies pick a new key up when they reload the key file: poll (on the probe route,
  // which the assertions do not count) until it works.
  std::string usable(const std::string& raw) {
    EXPECT_TRUE(eventually([&] {
      return http_request(keygate_->proxy_port(), "GET", "/probe/",
                          {{"Authorization", "Bearer " + raw}})
                 .status == 200;
    })) << "the new key never worked";
    upstream_.clear();
    return raw;
  }

  std::string metrics() const {
    return http_request(keygate_->admin_port(), "GET", "/metrics").body;
  }

  EchoUpstream upstream_;
  std::unique_ptr<KeygateProcess> keygate_;
  std::unique_ptr<AdminClient> admin_;
};

// Before: every org was on a built-in "free" plan: a second key was refused (409) and every
// answer carried X-RateLimit-Limit: 30000 from its monthly quota.
TEST_F(DefectsTest, WithoutPlansThereIsNoKeyMaximumAndNoQuota) {
  const std::string raw = usable(std::string(create_key("acme").at("key").as_string()));
  create_key("acme");  // a second key: 201 (the helper asserts it)
  create_key("acme");

  HttpResponse res = http_request(keygate_->proxy_port(), "GET", "/v1/things",
                                  {{"Authorization", "Bearer " + raw}});
  ASSERT_EQ(res.status, 200) << res.body << res.error;
  EXPECT_FALSE(res.headers.has("x-ratelimit-limit")) << res.headers.value("x-ratelimit-limit");
  EXPECT_FALSE(res.headers.has("ratelimit-policy"));
  ASSERT_TRUE(upstream_.wait_for_requests(1));
  const auto seen = upstream_.last_request().value();
  EXPECT_EQ(seen.header("x-keygate-org").value_or(""), "acme");
  EXPECT_FALSE(seen.has_header("x-keygate-plan"));  // no plan to name

  boost::json::object org = admin_->json("GET", "/v1/orgs/acme");
  EXPECT_TRUE(org.at("plan").is_null());
  EXPECT_TRUE(org.at("max_keys").is_null());
  EXPECT_EQ(org.at("active_keys").as_int64(), 3);
  EXPECT_TRUE(org.at("usage").at("monthly_limit").is_null());

  // The start-up log says so, in one line.
  const auto lines = keygate_->log_lines("\"msg\":\"plans\"");
  ASSERT_EQ(lines.size(), 1u) << keygate_->stderr_text();
  EXPECT_NE(lines[0].find("none (no key maximum, no monthly quota)"), std::string::npos)
      << lines[0];
}

TEST(DefectsPlansTest, ConfiguredPlansAreLoggedAtStart) {
  EchoUpstream upstream;
  std::string config = plainest_config(upstream.port());
  config +=
      "keys:\n  plans: [{name: hobby, max_keys: 2, monthly_quota: 500}]\n"
      "  default_plan: hobby\n";
  KeygateProcess keygate(config, options_with_token());
  const auto lines = keygate.log_lines("\"msg\":\"plans\"");
  ASSERT_EQ(lines.size(), 1u) << keygate.stderr_text();
  EXPECT_NE(lines[0].find("hobby (max_keys 2, monthly_quota 500)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"default_plan\":\"hobby\""), std::string::npos) << lines[0];
}

// Before: registered and documented, but never observed: always empty.
TEST_F(DefectsTest, RequestDurationIsRecordedPerRouteAndStatusClass) {
  const std::string raw = usable(std::string(create_key("acme").at("key").as_string()));
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(
        http_request(keygate_->proxy_port(), "GET", "/v1/x", {{"Authorization", "Bearer " + raw}})
            .status,
        200);
  ASSERT_EQ(http_request(keygate_->proxy_port(), "GET", "/v1/x").status, 401);
  const std::string text = metrics();
  EXPECT_NE(text.find("keygate_request_duration_seconds_count{route=\"v1\",class=\"2xx\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("keygate_request_duration_seconds_count{route=\"v1\",class=\"4xx\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("keygate_request_duration_seconds_bucket{route=\"v1\",class=\"2xx\",le="
                      "\"+Inf\"} 3\n"),
            std::string::npos);
  // Bucket bounds print short.
  EXPECT_NE(text.find("le=\"0.0005\""), std::string::npos);
  EXPECT_EQ(text.find("0.00050000000000000001"), std::string::npos);
}

// Before: the CLI printed the hash, omitted unset fields and listed bare arrays; the API's
// GET /v1/keys did not exist (405) and lists had no paging.
TEST_F(DefectsTest, CliAndApiShowAKeyTheSameWay) {
  const std::string id(create_key("acme").at("record").at("id").as_string());
  boost::json::object from_api = admin_->json("GET", "/v1/keys/" + id);
  from_api.erase("usage");  // the API's show adds the usage block
  CliResult shown = cli(keygate_->config_path(), {"keys", "show", id, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  const boost::json::value from_cli = parse_json(shown.stdout_text);
  EXPECT_EQ(from_cli, boost::json::value(from_api));
  EXPECT_FALSE(from_api.contains("hash"));
  EXPECT_TRUE(from_api.at("successor_id").is_null());

  CliResult listed = cli(keygate_->config_path(), {"keys", "list", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.stderr_text;
  boost::json::object api_list = admin_->json("GET", "/v1/keys");
  EXPECT_EQ(parse_json(listed.stdout_text), boost::json::value(api_list));
  EXPECT_TRUE(api_list.at("next_cursor").is_null());
}

TEST_F(DefectsTest, KeyListsFilterByOrgAndPage) {
  std::vector<std::string> acme;
  for (int i = 0; i < 3; ++i)
    acme.emplace_back(create_key("acme").at("record").at("id").as_string());
  create_key("beta");

  boost::json::object only_acme = admin_->json("GET", "/v1/keys?org=acme");
  ASSERT_EQ(only_acme.at("keys").as_array().size(), 3u);
  for (const auto& key : only_acme.at("keys").as_array())
    EXPECT_EQ(key.at("org").as_string(), "acme");
  EXPECT_EQ(admin_->json("GET", "/v1/keys").at("keys").as_array().size(), 4u);
  EXPECT_EQ(admin_->call("GET", "/v1/keys?org=nobody").status, 404);

  std::vector<std::string> seen;
  std::string path = "/v1/orgs/acme/keys?limit=2";
  for (int page = 0; page < 3; ++page) {
    boost::json::object answer = admin_->json("GET", path);
    for (const auto& key : answer.at("keys").as_array())
      seen.emplace_back(key.at("id").as_string());
    if (answer.at("next_cursor").is_null()) break;
    path = "/v1/orgs/acme/keys?limit=2&cursor=" + std::string(answer.at("next_cursor").as_string());
  }
  std::sort(seen.begin(), seen.end());
  std::sort(acme.begin(), acme.end());
  EXPECT_EQ(seen, acme);  // every key once over two pages

  boost::json::object orgs = admin_->json("GET", "/v1/orgs?limit=1");
  EXPECT_EQ(orgs.at("orgs").as_array().size(), 1u);
  EXPECT_EQ(orgs.at("next_cursor").as_string(), "acme");
  EXPECT_EQ(admin_->json("GET", "/v1/orgs?limit=1&cursor=acme").at("orgs").at(0).at("id"), "beta");

  EXPECT_EQ(admin_->call("GET", "/v1/keys?limit=0").status, 400);
  EXPECT_EQ(admin_->call("GET", "/v1/keys?limit=1001").status, 400);
  EXPECT_EQ(admin_->call("GET", "/v1/keys?cursor=garbage").status, 400);
  HttpResponse typo = admin_->call("GET", "/v1/keys?orgs=acme");
  EXPECT_EQ(typo.status, 400);
  EXPECT_NE(typo.body.find("unknown query parameter \\\"orgs\\\""), std::string::npos) << typo.body;
}

// Before: the successor's expires_at was the old key's lifetime from now, so rotating a key
// that was due to expire quietly extended it.
TEST_F(DefectsTest, RotationKeepsTheExpiryDateUnlessToldOtherwise) {
  // A key made an hour ago that expires in an hour: the old code gave its successor two hours.
  const std::int64_t now = std::time(nullptr);
  const std::int64_t expiry = now + 3600;
  const std::string id = "key_00000000000000000000a1b2";
  keygate_->write_file("keys.json", R"({"orgs":[{"id":"acme","created_at":)" +
                                        std::to_string(now - 3600) + R"(}],"keys":[{"id":")" + id +
                                        R"(","hash":")" + std::string(64, 'c') +
                                        R"(","prefix":"sk_live_abcdef","org":"acme",)"
                                        R"("environment":"live","type":"secret","created_at":)" +
                                        std::to_string(now - 3600) + R"(,"expires_at":)" +
                                        std::to_string(expiry) + "}]}");
  boost::json::object rotated = admin_->json("POST", "/v1/keys/" + id + "/rotate", "{}", 201);
  EXPECT_EQ(rotated.at("record").at("expires_at").as_int64(), expiry);

  const std::string next(rotated.at("record").at("id").as_string());
  boost::json::object renewed = admin_->json("POST", "/v1/keys/" + next + "/rotate",
                                             R"({"expires_at":null,"grace_seconds":0})", 201);
  EXPECT_TRUE(renewed.at("record").at("expires_at").is_null());
  EXPECT_EQ(renewed.at("old_record").at("effective_status").as_string(), "revoked");
  EXPECT_EQ(admin_->json("GET", "/v1/keys/" + id).at("effective_status").as_string(), "rotated");
}

// Every line of both logs: a JSON object whose first field is "time" in one format, with
// snake_case names and numbers that are numbers.
void expect_conventions(const std::string& log_name, const std::string& text,
                        std::size_t& lines_seen) {
  static const std::regex kTime(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  static const std::regex kName(R"([a-z][a-z0-9_]*)");
  static const std::regex kNumberText(R"(-?\d+(\.\d+)?)");
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++lines_seen;
    EXPECT_TRUE(line.starts_with("{\"time\":\"")) << log_name << ": " << line;
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << log_name << ": " << line;
    const boost::json::object& object = value.as_object();
    ASSERT_TRUE(object.contains("time") && object.at("time").is_string()) << line;
    EXPECT_TRUE(std::regex_match(std::string(object.at("time").as_string()), kTime)) << line;
    for (const auto& field : object) {
      const std::string name(field.key());
      EXPECT_TRUE(std::regex_match(name, kName)) << log_name << ": " << name << " in " << line;
      if (field.value().is_string() && name != "request_id" && name != "key_id") {
        EXPECT_FALSE(std::regex_match(std::string(field.value().as_string()), kNumberText))
            << log_name << ": " << name << " is a number written as a string in " << line;
      }
    }
  }
}

// Before: the process log wrote every value as a string ("status":"201", "threads":"1")
// and its "listening" lines had no time at all.
TEST_F(DefectsTest, AccessLogAndProcessLogShareTheirJsonConventions) {
  // Creating the key logs an "admin api" line.
  const std::string raw = usable(std::string(create_key("acme").at("key").as_string()));
  ASSERT_EQ(
      http_request(keygate_->proxy_port(), "GET", "/v1/x", {{"Authorization", "Bearer " + raw}})
          .status,
      200);
  ASSERT_EQ(keygate_->terminate(), 0);  // flushes the access log

  std::size_t process_lines = 0, access_lines = 0;
  const std::string process_log = keygate_->stderr_text();
  expect_conventions("process log", process_log, process_lines);
  expect_conventions("access log", read_text_file(keygate_->path("access.log")), access_lines);
  EXPECT_GE(process_lines, 4u) << process_log;  // listening x2, plans, ready, admin api, ...
  EXPECT_GE(access_lines, 1u);
  // The numbers the tests and scripts read, as numbers.
  for (const char* needle :
       {"\"msg\":\"listening\"", "\"msg\":\"ready\"", "\"msg\":\"admin api\""}) {
    const auto lines = keygate_->log_lines(needle);
    ASSERT_FALSE(lines.empty()) << needle << " in " << process_log;
    const boost::json::object line = parse_json(lines[0]).as_object();
    for (const char* number : {"port", "threads", "status"})
      if (line.contains(number)) {
        EXPECT_TRUE(line.at(number).is_number()) << lines[0];
      }
  }
}

}  // namespace
}  // namespace keygate::testing
