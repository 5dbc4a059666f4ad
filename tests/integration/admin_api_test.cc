// The management API over real sockets: the real keygate binary with the file store and with
// a real redis-server, every endpoint with and without the admin token, every response checked
// against docs/openapi.yaml, the CLI and the API seeing one state, and no raw key in any log.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/integration/admin_api_support.h"
#include "tests/integration/openapi_checker.h"
#include "tests/support/echo_upstream.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/redis_server.h"

namespace keygate::testing {
namespace {

namespace json = boost::json;

const std::string kOpenApiPath = std::string(KEYGATE_SOURCE_DIR) + "/docs/openapi.yaml";

// A placeholder for path parameters in requests that never reach a handler.
const std::string kSomeKeyId = "key_0123456789abcdef01234567";

std::string fill(std::string path, const std::string& org, const std::string& key_id) {
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"{org}", org}, {"{key_id}", key_id}}) {
    if (auto at = path.find(from); at != std::string::npos) path.replace(at, from.size(), to);
  }
  return path;
}

std::string str(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::int64_t num(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value && value->is_int64() ? value->as_int64() : -1;
}

// The API, plus a check of every answer against the OpenAPI document.
class CheckedApi {
 public:
  CheckedApi(std::uint16_t port, OpenApiChecker& checker) : client_(port), checker_(checker) {}

  HttpResponse call(std::string_view method, const std::string& path_template,
                    const std::string& path, int expect, const std::string& body = {},
                    std::optional<std::string> token = kAdminToken) {
    HttpResponse res = client_.call(method, path, body, token);
    EXPECT_EQ(res.status, expect) << method << " " << path << ": " << res.body << res.error;
    EXPECT_EQ(checker_.check(method, path_template, res.status, res.body), "")
        << method << " " << path << " -> " << res.status << ": " << res.body;
    return res;
  }
  json::object object(std::string_view method, const std::string& path_template,
                      const std::string& path, int expect, const std::string& body = {}) {
    HttpResponse res = call(method, path_template, path, expect, body);
    json::value value = parse_json(res.body);
    return value.is_object() ? value.as_object() : json::object();
  }

 private:
  AdminClient client_;
  OpenApiChecker& checker_;
};

class AdminApiTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string store = kFileStoreYaml;
    if (GetParam() == "redis") {
      redis_ = std::make_unique<RedisServer>();
      store = redis_store_yaml(redis_->port());
    }
    keygate_ = std::make_unique<KeygateProcess>(usage_config(upstream_.port(), store),
                                                options_with_token());
    api_ = std::make_unique<CheckedApi>(keygate_->admin_port(), checker_);
  }

  void TearDown() override {
    if (!keygate_) return;
    guard_.expect_absent("keygate stdout", keygate_->stdout_text());
    guard_.expect_absent("keygate stderr", keygate_->stderr_text());
    for (const std::string& text : cli_errors_) guard_.expect_absent("CLI stderr", text);
  }

  // Creates a key through the API; returns {raw key, record}.
  std::pair<std::string, json::object> create_key(const std::string& org,
                                                  const std::string& extra = "") {
    json::object created =
        api_->object("POST", "/v1/keys", "/v1/keys", 201,
                     R"({"org":")" + org + R"(","name":"svc","environment":"live",)" +
                         R"("type":"secret","scopes":["read"])" + extra + "}");
    const std::string raw = str(created, "key");
    guard_.add(raw);
    return {raw, created["record"].as_object()};
  }

  CliResult run_cli(std::vector<std::string> args) {
    CliResult result = cli(keygate_->config_path(), std::move(args));
    cli_errors_.push_back(result.stderr_text);
    return result;
  }

  EchoUpstream upstream_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<KeygateProcess> keygate_;
  OpenApiChecker checker_{kOpenApiPath};
  std::unique_ptr<CheckedApi> api_;
  RawKeyGuard guard_;
  std::vector<std::string> cli_errors_;
};

TEST_P(AdminApiTest, EveryEndpointRefusesAMissingOrWrongToken) {
  const auto operations = checker_.operations();
  ASSERT_EQ(operations.size(), 16u) << "an endpoint was added: test it here";
  for (const auto& [method, path] : operations) {
    const std::string target = fill(path, "acme", kSomeKeyId);
    for (const auto& token : std::vector<std::optional<std::string>>{
             std::nullopt, std::string("wrong-token"), kAdminToken + "x", std::string("")}) {
      HttpResponse res = api_->call(method, path, target, 401, "{}", token);
      json::object error = parse_json(res.body).as_object()["error"].as_object();
      EXPECT_EQ(str(error, "type"), "authentication_error");
      EXPECT_EQ(str(error, "code"),
                token && !token->empty() ? "invalid_admin_token" : "missing_admin_token");
      EXPECT_NE(res.headers.value("www-authenticate").find("Bearer"), std::string::npos);
    }
  }
  // Refused requests changed nothing.
  json::object orgs = api_->object("GET", "/v1/orgs", "/v1/orgs", 200);
  EXPECT_TRUE(orgs["orgs"].as_array().empty());
}

TEST_P(AdminApiTest, KeyAndOrgLifecycleAnswersAsDocumented) {
  // Orgs.
  json::object org =
      api_->object("POST", "/v1/orgs", "/v1/orgs", 201, R"({"id":"acme","plan":"starter"})");
  EXPECT_EQ(str(org, "plan"), "starter");
  api_->call("POST", "/v1/orgs", "/v1/orgs", 409, R"({"id":"acme"})");
  api_->call("POST", "/v1/orgs", "/v1/orgs", 400, R"({"id":"acme","plan":"gold"})");
  api_->call("POST", "/v1/orgs", "/v1/orgs", 400, R"({"name":"acme"})");
  api_->call("POST", "/v1/orgs", "/v1/orgs", 400, R"({"id":"acme")");
  json::object listed = api_->object("GET", "/v1/orgs", "/v1/orgs", 200);
  ASSERT_EQ(listed["orgs"].as_array().size(), 1u);
  EXPECT_EQ(num(listed["orgs"].as_array()[0].as_object(), "max_keys"), 2);

  // Keys: plan maxima and audit fields, as in the CLI.
  auto [raw, record] = create_key("acme");
  const std::string id = str(record, "id");
  EXPECT_EQ(str(record, "created_by"), "admin-api");
  EXPECT_FALSE(record.contains("hash"));
  EXPECT_EQ(raw.substr(0, 14), str(record, "prefix"));
  auto [raw2, record2] = create_key("acme", R"(,"created_by":"ci-bot")");
  EXPECT_EQ(str(record2, "created_by"), "ci-bot");
  const std::string id_b = str(record2, "id");
  api_->call("POST", "/v1/keys", "/v1/keys", 409,
             R"({"org":"acme","name":"third","environment":"live","type":"secret"})");
  api_->call("POST", "/v1/keys", "/v1/keys", 400,
             R"({"org":"acme","name":"x","environment":"moon","type":"secret"})");
  api_->call("POST", "/v1/keys", "/v1/keys", 400,
             R"({"org":"acme","name":"x","environment":"live","type":"secret","scope":["a"]})");
  api_->object("PATCH", "/v1/orgs/{org}", "/v1/orgs/acme", 200, R"({"plan":"growth"})");
  api_->call("PATCH", "/v1/orgs/{org}", "/v1/orgs/nobody", 404, R"({"plan":"growth"})");

  // Listing shows prefixes, never a raw key or a hash.
  HttpResponse keys = api_->call("GET", "/v1/orgs/{org}/keys", "/v1/orgs/acme/keys", 200);
  EXPECT_EQ(keys.body.find(raw), std::string::npos);
  EXPECT_EQ(keys.body.find("hash"), std::string::npos);
  EXPECT_EQ(parse_json(keys.body).as_object()["keys"].as_array().size(), 2u);
  api_->call("GET", "/v1/orgs/{org}/keys", "/v1/orgs/nobody/keys", 404);
  // The same through GET /v1/keys?org=, and a page of one.
  HttpResponse by_query = api_->call("GET", "/v1/keys", "/v1/keys?org=acme", 200);
  EXPECT_EQ(by_query.body, keys.body);
  json::object first_page = api_->object("GET", "/v1/keys", "/v1/keys?org=acme&limit=1", 200);
  EXPECT_EQ(first_page["keys"].as_array().size(), 1u);
  EXPECT_TRUE(first_page["next_cursor"].is_string());
  api_->call("GET", "/v1/keys", "/v1/keys?org=nobody", 404);
  api_->call("GET", "/v1/keys", "/v1/keys?limit=many", 400);
  api_->call("GET", "/v1/orgs/{org}/keys", "/v1/orgs/acme/keys?cursor=x", 400);
  api_->call("GET", "/v1/orgs", "/v1/orgs?page=2", 400);

  // Show, with usage.
  json::object shown = api_->object("GET", "/v1/keys/{key_id}", "/v1/keys/" + id, 200);
  EXPECT_EQ(str(shown["usage"].as_object(), "key_id"), id);
  api_->call("GET", "/v1/keys/{key_id}", "/v1/keys/" + kSomeKeyId, 404);
  // Not an id (here: the raw key itself): refused without echoing it.
  HttpResponse by_raw = api_->call("GET", "/v1/keys/{key_id}", "/v1/keys/" + raw, 404);
  EXPECT_EQ(by_raw.body.find(raw), std::string::npos);

  // Name, scopes, expiry.
  const std::int64_t expiry = num(record, "created_at") + 3600;
  json::object patched =
      api_->object("PATCH", "/v1/keys/{key_id}", "/v1/keys/" + id, 200,
                   R"({"name":"renamed","scopes":["read","write"],"expires_at":)" +
                       std::to_string(expiry) + "}");
  EXPECT_EQ(str(patched, "name"), "renamed");
  EXPECT_EQ(patched["scopes"].as_array().size(), 2u);
  EXPECT_EQ(num(patched, "expires_at"), expiry);
  patched =
      api_->object("PATCH", "/v1/keys/{key_id}", "/v1/keys/" + id, 200, R"({"expires_at":null})");
  EXPECT_TRUE(patched["expires_at"].is_null());
  api_->call("PATCH", "/v1/keys/{key_id}", "/v1/keys/" + id, 400, "{}");
  api_->call("PATCH", "/v1/keys/{key_id}", "/v1/keys/" + id, 400, R"({"name":""})");
  api_->call("PATCH", "/v1/keys/{key_id}", "/v1/keys/" + id, 400, R"({"expires_at":"soon"})");

  // Deactivate, activate, revoke; repeating one is not an error.
  json::object change =
      api_->object("POST", "/v1/keys/{key_id}/deactivate", "/v1/keys/" + id + "/deactivate", 200);
  EXPECT_TRUE(change["changed"].as_bool());
  EXPECT_EQ(str(change["record"].as_object(), "status"), "inactive");
  change = api_->object("POST", "/v1/keys/{key_id}/activate", "/v1/keys/" + id + "/activate", 200);
  EXPECT_EQ(str(change["record"].as_object(), "status"), "active");
  change = api_->object("POST", "/v1/keys/{key_id}/revoke", "/v1/keys/" + id_b + "/revoke", 200);
  EXPECT_TRUE(change["changed"].as_bool());
  EXPECT_FALSE(change["record"].as_object()["revoked_at"].is_null());
  change = api_->object("POST", "/v1/keys/{key_id}/revoke", "/v1/keys/" + id_b + "/revoke", 200);
  EXPECT_FALSE(change["changed"].as_bool());
  api_->call("POST", "/v1/keys/{key_id}/activate", "/v1/keys/" + id_b + "/activate", 409);

  // Rotate: a new raw key once, the old one revoked at once with grace 0.
  json::object rotated = api_->object("POST", "/v1/keys/{key_id}/rotate",
                                      "/v1/keys/" + id + "/rotate", 201, R"({"grace_seconds":0})");
  const std::string new_raw = str(rotated, "key");
  guard_.add(new_raw);
  EXPECT_NE(new_raw, raw);
  EXPECT_EQ(str(rotated["old_record"].as_object(), "successor_id"),
            str(rotated["record"].as_object(), "id"));
  EXPECT_EQ(str(rotated["old_record"].as_object(), "effective_status"), "revoked");
  EXPECT_EQ(str(rotated["record"].as_object(), "created_by"), "admin-api");
  api_->call("POST", "/v1/keys/{key_id}/rotate", "/v1/keys/" + id + "/rotate", 400,
             R"({"grace_seconds":-1})");

  // Usage endpoints.
  json::object usage =
      api_->object("GET", "/v1/keys/{key_id}/usage", "/v1/keys/" + id + "/usage", 200);
  EXPECT_EQ(num(usage, "total_requests"), 0);
  json::object org_usage = api_->object("GET", "/v1/orgs/{org}/usage", "/v1/orgs/acme/usage", 200);
  EXPECT_EQ(num(org_usage, "monthly_limit"), 30000);
  EXPECT_EQ(org_usage["keys"].as_array().size(), 3u);
  json::object org_detail = api_->object("GET", "/v1/orgs/{org}", "/v1/orgs/acme", 200);
  EXPECT_EQ(num(org_detail, "active_keys"), 1);  // the rotated-in key; the others are revoked
  EXPECT_EQ(num(org_detail["usage"].as_object(), "remaining"), 30000);
  api_->call("GET", "/v1/orgs/{org}", "/v1/orgs/nobody", 404);
  api_->call("GET", "/v1/orgs/{org}/usage", "/v1/orgs/nobody/usage", 404);

  // Delete.
  json::object deleted = api_->object("DELETE", "/v1/keys/{key_id}", "/v1/keys/" + id, 200);
  EXPECT_EQ(str(deleted["deleted"].as_object(), "id"), id);
  api_->call("DELETE", "/v1/keys/{key_id}", "/v1/keys/" + id, 404);
  api_->call("GET", "/v1/keys/{key_id}/usage", "/v1/keys/" + id + "/usage", 404);
  api_->call("POST", "/v1/keys/{key_id}/deactivate", "/v1/keys/" + id + "/deactivate", 404);

  EXPECT_EQ(checker_.unchecked_successes(), std::vector<std::string>{})
      << "every documented operation must be exercised";
}

TEST_P(AdminApiTest, UnknownEndpointsAndMethodsAreJsonErrors) {
  AdminClient client(keygate_->admin_port());
  HttpResponse res = client.call("GET", "/v1/nothing");
  EXPECT_EQ(res.status, 404);
  EXPECT_NE(res.body.find(R"("code":"not_found")"), std::string::npos);
  res = client.call("PUT", "/v1/orgs", "{}");
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(res.headers.value("allow"), "GET, POST");
  EXPECT_NE(res.body.find(R"("code":"method_not_allowed")"), std::string::npos);
  // Health and metrics stay outside the API: no token needed.
  EXPECT_EQ(client.call("GET", "/healthz", {}, std::nullopt).status, 200);
  EXPECT_EQ(client.call("GET", "/metrics", {}, std::nullopt).status, 200);
}

TEST_P(AdminApiTest, CliAndApiSeeTheSameState) {
  // API -> CLI.
  auto [raw, record] = create_key("acme");
  const std::string id = str(record, "id");
  CliResult shown = run_cli({"keys", "show", id, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.stderr_text;
  json::object from_cli = parse_json(shown.stdout_text).as_object();
  EXPECT_EQ(str(from_cli, "name"), "svc");
  EXPECT_EQ(str(from_cli, "created_by"), "admin-api");
  EXPECT_EQ(num(from_cli, "created_at"), num(record, "created_at"));

  // CLI -> API.
  CliResult created = run_cli({"keys", "create", "--org", "acme", "--name", "from-cli", "--env",
                               "live", "--type", "secret", "--json", "--created-by", "alice"});
  ASSERT_EQ(created.exit_code, 0) << created.stderr_text;
  json::object cli_key = parse_json(created.stdout_text).as_object();
  guard_.add(str(cli_key, "key"));
  const std::string cli_id = str(cli_key["record"].as_object(), "id");
  json::object via_api = api_->object("GET", "/v1/keys/{key_id}", "/v1/keys/" + cli_id, 200);
  EXPECT_EQ(str(via_api, "name"), "from-cli");
  EXPECT_EQ(str(via_api, "created_by"), "alice");

  // A change on either side shows on the other.
  ASSERT_EQ(run_cli({"keys", "revoke", id}).exit_code, 0);
  EXPECT_EQ(str(api_->object("GET", "/v1/keys/{key_id}", "/v1/keys/" + id, 200), "status"),
            "revoked");
  api_->object("PATCH", "/v1/keys/{key_id}", "/v1/keys/" + cli_id, 200,
               R"({"scopes":["billing"]})");
  CliResult after = run_cli({"keys", "show", cli_id, "--json"});
  json::value scopes = parse_json(after.stdout_text).as_object()["scopes"];
  EXPECT_EQ(json::serialize(scopes), R"(["billing"])");
  CliResult orgs = run_cli({"orgs", "list", "--json"});
  EXPECT_EQ(parse_json(orgs.stdout_text),
            json::value(api_->object("GET", "/v1/orgs", "/v1/orgs", 200)));

  // The plan limit is one rule: the CLI's keys count against the API's creates.
  api_->object("PATCH", "/v1/orgs/{org}", "/v1/orgs/acme", 200, R"({"plan":"free"})");
  api_->call("POST", "/v1/keys", "/v1/keys", 409,
             R"({"org":"acme","name":"more","environment":"live","type":"secret"})");
}

TEST_P(AdminApiTest, KeysManagedThroughTheApiWorkAtTheProxy) {
  auto [raw, record] = create_key("acme");
  const std::string id = str(record, "id");
  auto status = [&](const std::string& key) {
    return http_get(keygate_->proxy_port(), "/ok/x", {{"Authorization", "Bearer " + key}}).status;
  };
  EXPECT_TRUE(eventually([&] { return status(raw) == 200; })) << "new key never accepted";
  api_->object("POST", "/v1/keys/{key_id}/revoke", "/v1/keys/" + id + "/revoke", 200);
  EXPECT_TRUE(eventually([&] { return status(raw) == 401; })) << "revoked key still accepted";
}

INSTANTIATE_TEST_SUITE_P(Stores, AdminApiTest, ::testing::Values("file", "redis"),
                         [](const auto& info) { return info.param; });

TEST(AdminApiWithoutToken, EveryEndpointIsDisabledWithAClearMessage) {
  EchoUpstream upstream;
  KeygateProcess keygate(usage_config(upstream.port(), kFileStoreYaml, "{enabled: true}", false),
                         options_with_token());
  OpenApiChecker checker(kOpenApiPath);
  CheckedApi api(keygate.admin_port(), checker);
  for (const auto& [method, path] : checker.operations()) {
    for (const auto& token : std::vector<std::optional<std::string>>{std::nullopt, kAdminToken}) {
      HttpResponse res = api.call(method, path, fill(path, "acme", kSomeKeyId), 403, "{}", token);
      EXPECT_NE(res.body.find("admin_api_disabled"), std::string::npos);
      EXPECT_NE(res.body.find("admin.token_env or admin.token_file"), std::string::npos);
    }
  }
  EXPECT_EQ(http_get(keygate.admin_port(), "/healthz").status, 200);
}

TEST(AdminApiWithoutToken, AnUnreadableTokenFileDisablesTheApiAndSaysWhy) {
  EchoUpstream upstream;
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});  // no admin.token
  KeygateProcess keygate(usage_config(upstream.port(), kFileStoreYaml), options);
  AdminClient client(keygate.admin_port());
  HttpResponse res = client.call("GET", "/v1/orgs");
  EXPECT_EQ(res.status, 403);
  EXPECT_NE(res.body.find("admin.token_file"), std::string::npos) << res.body;
  EXPECT_TRUE(keygate.wait_for_log("management API disabled"));
}

TEST(AdminApiTokenFromEnvironment, TheEnvironmentVariableWins) {
  EchoUpstream upstream;
  KeygateOptions options = options_with_token();
  options.env.push_back({"KG_TEST_ADMIN_TOKEN", "from-the-environment"});
  std::string config = usage_config(upstream.port(), kFileStoreYaml);
  const std::string file_token = "token_file: admin.token";
  config.replace(config.find(file_token), file_token.size(),
                 "token_env: KG_TEST_ADMIN_TOKEN, " + file_token);
  KeygateProcess keygate(config, options);
  AdminClient client(keygate.admin_port());
  EXPECT_EQ(client.call("GET", "/v1/orgs", {}, std::string("from-the-environment")).status, 200);
  EXPECT_EQ(client.call("GET", "/v1/orgs").status, 401);  // the file's token is not used
}

}  // namespace
}  // namespace keygate::testing
