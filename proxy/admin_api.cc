#include "proxy/admin_api.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include "auth/key_output.h"
#include "auth/key_page.h"
#include "auth/keys_cli.h"
#include "auth/usage_report.h"
#include "proxy/admin_api_json.h"
#include "proxy/log.h"

namespace keygate::proxy {
namespace {

namespace json = boost::json;
using admin_json::Body;
using admin_json::key_error;
using admin_json::key_view;
using admin_json::org_view;
using admin_json::respond;

constexpr std::int64_t kDefaultGraceSeconds = 24 * 3600;
constexpr std::size_t kKeyIdHexDigits = 24;

// What a handler gets: the manager for this request, the usage store on demand, the path
// parameters and the body.
struct Context {
  auth::KeyManager& manager;
  std::function<auth::UsageStore*(auth::StoreStatus&)> usage;
  std::vector<std::string> params;  // in pattern order
  std::string_view body_text;
  std::string_view query;  // after '?', undecoded
};

using Handler = AdminResponse (*)(Context&);

AdminResponse bad_request(std::string_view message) {
  return admin_json::error(400, "invalid_request_error", "invalid_argument", message);
}

bool valid_key_id(std::string_view ref) {
  if (ref.size() != 4 + kKeyIdHexDigits || !ref.starts_with("key_")) return false;
  for (char c : ref.substr(4))
    if (!std::isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  return true;
}

// Never echoes the reference: it might be a raw key pasted into a URL by mistake.
AdminResponse bad_key_reference() {
  return admin_json::error(404, "invalid_request_error", "not_found",
                           "keys are named by their id in this API: key_ followed by 24 "
                           "lowercase hex digits");
}

std::optional<Body> read_body(const Context& ctx, AdminResponse& refusal) {
  std::string error;
  std::optional<Body> body = Body::parse(ctx.body_text, error);
  if (!body) refusal = admin_json::error(400, "invalid_request_error", "invalid_json", error);
  return body;
}

// Unwraps a manager result, or answers its error.
template <class T>
std::optional<T> take(auth::KeyResult<T> result, AdminResponse& refusal) {
  if (!result.ok()) {
    refusal = key_error(result.code, result.message);
    return std::nullopt;
  }
  return std::move(result.value);
}

auth::UsageStore* usage_store(Context& ctx, AdminResponse& refusal) {
  auth::StoreStatus error;
  auth::UsageStore* store = ctx.usage(error);
  if (store == nullptr) refusal = key_error(auth::KeyErrc::store_unavailable, error.message);
  return store;
}

// ---- query parameters

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX and '+' decoded; nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

// The parameters of a list endpoint: `limit`, `cursor` and the ones in `extra` (e.g. org).
// Anything else is refused, like unknown body fields, so a typo is not silently ignored.
struct ListQuery {
  auth::PageRequest page;
  std::map<std::string, std::string, std::less<>> extra;
};

std::optional<ListQuery> read_list_query(std::string_view query,
                                         std::initializer_list<std::string_view> extra,
                                         AdminResponse& refusal) {
  ListQuery out;
  out.page.limit = auth::kDefaultPageLimit;
  while (!query.empty()) {
    const std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    const std::string_view name = pair.substr(0, equals);
    std::optional<std::string> value =
        percent_decode(equals == std::string_view::npos ? "" : pair.substr(equals + 1));
    if (!value) {
      refusal = bad_request("query parameter \"" + std::string(name) + "\" is not URL-encoded");
      return std::nullopt;
    }
    if (name == "limit") {
      std::string error;
      out.page.limit = auth::parse_page_limit(*value, error);
      if (!out.page.limit) {
        refusal = bad_request(error);
        return std::nullopt;
      }
    } else if (name == "cursor") {
      out.page.cursor = std::move(*value);
    } else if (std::find(extra.begin(), extra.end(), name) != extra.end()) {
      out.extra[std::string(name)] = std::move(*value);
    } else {
      std::string known = "limit, cursor";
      for (std::string_view e : extra) known += ", " + std::string(e);
      refusal = bad_request("unknown query parameter \"" + std::string(name) +
                            "\" (known: " + known + ")");
      return std::nullopt;
    }
  }
  return out;
}

AdminResponse key_list(Context& ctx, std::vector<auth::KeyRecord> keys,
                       const auth::PageRequest& request) {
  AdminResponse refusal;
  auto page = take(auth::page_keys(std::move(keys), request), refusal);
  if (!page) return refusal;
  json::array array;
  for (const auth::KeyRecord& key : page->items) array.push_back(key_view(key, ctx.manager.now()));
  return respond(200, auth::list_json("keys", std::move(array), page->next_cursor));
}

// ---- orgs

AdminResponse list_orgs(Context& ctx) {
  AdminResponse refusal;
  auto query = read_list_query(ctx.query, {}, refusal);
  if (!query) return refusal;
  auto orgs = take(ctx.manager.list_orgs(), refusal);
  if (!orgs) return refusal;
  auto page = take(auth::page_orgs(std::move(*orgs), query->page), refusal);
  if (!page) return refusal;
  json::array array;
  for (const auth::OrgRecord& org : page->items) {
    auto usage = take(ctx.manager.usage(org.id), refusal);
    if (!usage) return refusal;
    array.push_back(auth::org_json(org, usage->active, usage->max_keys));
  }
  return respond(200, auth::list_json("orgs", std::move(array), page->next_cursor));
}

AdminResponse create_org(Context& ctx) {
  AdminResponse refusal;
  auto body = read_body(ctx, refusal);
  if (!body) return refusal;
  std::string id, plan;
  if (!body->string("id", id, true) || !body->string("plan", plan) || !body->no_other_fields())
    return bad_request(body->error());
  auto org = take(ctx.manager.create_org(id, plan), refusal);
  if (!org) return refusal;
  return respond(201, org_view(*org));
}

AdminResponse show_org(Context& ctx) {
  AdminResponse refusal;
  auth::UsageStore* usage = usage_store(ctx, refusal);
  if (!usage) return refusal;
  auto report = take(auth::org_usage_report(ctx.manager, *usage, ctx.params[0]), refusal);
  if (!report) return refusal;
  json::object object = auth::org_json(report->org, report->active_keys, report->max_keys);
  object["usage"] = auth::usage_json(*report);
  return respond(200, object);
}

AdminResponse update_org(Context& ctx) {
  AdminResponse refusal;
  auto body = read_body(ctx, refusal);
  if (!body) return refusal;
  std::string plan;
  if (!body->string("plan", plan, true) || !body->no_other_fields())
    return bad_request(body->error());
  auto org = take(ctx.manager.set_plan(ctx.params[0], plan), refusal);
  if (!org) return refusal;
  return respond(200, org_view(*org));
}

AdminResponse org_usage(Context& ctx) {
  AdminResponse refusal;
  auth::UsageStore* usage = usage_store(ctx, refusal);
  if (!usage) return refusal;
  auto report = take(auth::org_usage_report(ctx.manager, *usage, ctx.params[0]), refusal);
  if (!report) return refusal;
  auto keys = take(ctx.manager.list(ctx.params[0]), refusal);
  if (!keys) return refusal;
  json::object object = auth::usage_json(*report);
  json::array array;
  for (const auth::KeyRecord& key : *keys) {
    auto key_usage = take(auth::key_usage_report(*usage, key), refusal);
    if (!key_usage) return refusal;
    json::object item = auth::usage_json(*key_usage);
    item["name"] = key.name;
    item["prefix"] = key.prefix;
    array.push_back(std::move(item));
  }
  object["keys"] = std::move(array);
  return respond(200, object);
}

AdminResponse list_org_keys(Context& ctx) {
  AdminResponse refusal;
  auto query = read_list_query(ctx.query, {}, refusal);
  if (!query) return refusal;
  auto keys = take(ctx.manager.list(ctx.params[0]), refusal);
  if (!keys) return refusal;
  return key_list(ctx, std::move(*keys), query->page);
}

// GET /v1/keys: every key, or with ?org= one org's (the same answer as /v1/orgs/{org}/keys).
AdminResponse list_keys(Context& ctx) {
  AdminResponse refusal;
  auto query = read_list_query(ctx.query, {"org"}, refusal);
  if (!query) return refusal;
  auto org = query->extra.find("org");
  auto keys = take(
      org != query->extra.end() ? ctx.manager.list(org->second) : ctx.manager.list_all(), refusal);
  if (!keys) return refusal;
  return key_list(ctx, std::move(*keys), query->page);
}

// ---- keys

std::string created_by_or_default(const std::string& given) {
  return given.empty() ? "admin-api" : given;
}

AdminResponse create_key(Context& ctx) {
  AdminResponse refusal;
  auto body = read_body(ctx, refusal);
  if (!body) return refusal;
  auth::CreateKeyRequest request;
  bool has_expiry = false;
  if (!body->string("org", request.org, true) || !body->string("name", request.name, true) ||
      !body->string("environment", request.environment, true) ||
      !body->string("type", request.type, true) || !body->strings("scopes", request.scopes) ||
      !body->nullable_time("expires_at", request.expires_at, &has_expiry) ||
      !body->strings("allowed_cidrs", request.allowed_cidrs) ||
      !body->limit_overrides("limit_overrides", request.limit_overrides) ||
      !body->string("created_by", request.created_by) || !body->no_other_fields())
    return bad_request(body->error());
  request.created_by = created_by_or_default(request.created_by);
  auto created = take(ctx.manager.create(request), refusal);
  if (!created) return refusal;
  return respond(201, json::object{{"key", created->raw_key},
                                   {"record", key_view(created->record, ctx.manager.now())}});
}

AdminResponse show_key(Context& ctx) {
  AdminResponse refusal;
  auto key = take(ctx.manager.show(ctx.params[0]), refusal);
  if (!key) return refusal;
  auth::UsageStore* usage = usage_store(ctx, refusal);
  if (!usage) return refusal;
  auto key_usage = take(auth::key_usage_report(*usage, *key), refusal);
  if (!key_usage) return refusal;
  json::object object = key_view(*key, ctx.manager.now());
  object["usage"] = auth::usage_json(*key_usage);
  return respond(200, object);
}

// Name, scopes and expiry in one request. Each change is its own atomic store write, applied
// in that order; the fields are all checked before the first one is written.
AdminResponse update_key(Context& ctx) {
  AdminResponse refusal;
  auto body = read_body(ctx, refusal);
  if (!body) return refusal;
  std::string name;
  std::vector<std::string> scopes;
  std::optional<auth::UnixSeconds> expires_at;
  bool renaming = false, has_scopes = false, has_expiry = false;
  if (!body->string("name", name, false, &renaming) ||
      !body->strings("scopes", scopes, &has_scopes) ||
      !body->nullable_time("expires_at", expires_at, &has_expiry) || !body->no_other_fields())
    return bad_request(body->error());
  if (!renaming && !has_scopes && !has_expiry)
    return bad_request("give at least one of \"name\", \"scopes\", \"expires_at\"");

  std::optional<auth::KeyRecord> record;
  if (renaming) {
    auto change = take(ctx.manager.rename(ctx.params[0], name), refusal);
    if (!change) return refusal;
    record = change->record;
  }
  if (has_scopes) {
    auto change = take(ctx.manager.set_scopes(ctx.params[0], scopes), refusal);
    if (!change) return refusal;
    record = change->record;
  }
  if (has_expiry) {
    auto change = take(ctx.manager.expire(ctx.params[0], expires_at), refusal);
    if (!change) return refusal;
    record = change->record;
  }
  return respond(200, key_view(*record, ctx.manager.now()));
}

AdminResponse delete_key(Context& ctx) {
  AdminResponse refusal;
  auto deleted = take(ctx.manager.remove(ctx.params[0]), refusal);
  if (!deleted) return refusal;
  return respond(200, json::object{{"deleted", key_view(*deleted, ctx.manager.now())}});
}

template <auth::KeyResult<auth::KeyChange> (auth::KeyManager::*Operation)(const std::string&)>
AdminResponse change_state(Context& ctx) {
  AdminResponse refusal;
  auto body = read_body(ctx, refusal);
  if (!body) return refusal;
  if (!body->no_other_fields()) return bad_request(body->error());
  auto change = take((ctx.manager.*Operation)(ctx.params[0]), refusal);
  if (!change) return refusal;
  return respond(200, json::object{{"changed", change->changed},
                                   {"record", key_view(change->record, ctx.manager.now())}});
}

AdminResponse rotate_key(Context& ctx) {
  AdminResponse refusal;
  auto body = read_body(ctx, refusal);
  if (!body) return refusal;
  std::optional<std::int64_t> grace;
  std::string created_by;
  auth::RotateExpiry expiry;  // absent: the successor keeps the old key's expiry date
  if (!body->non_negative("grace_seconds", grace) || !body->string("created_by", created_by) ||
      !body->nullable_time("expires_at", expiry.expires_at, &expiry.replace) ||
      !body->no_other_fields())
    return bad_request(body->error());
  auto rotated = take(
      ctx.manager.rotate(ctx.params[0], std::chrono::seconds(grace.value_or(kDefaultGraceSeconds)),
                         created_by_or_default(created_by), expiry),
      refusal);
  if (!rotated) return refusal;
  const auth::UnixSeconds now = ctx.manager.now();
  return respond(201, json::object{{"key", rotated->new_key.raw_key},
                                   {"record", key_view(rotated->new_key.record, now)},
                                   {"old_record", key_view(rotated->old_key, now)}});
}

AdminResponse key_usage(Context& ctx) {
  AdminResponse refusal;
  auto key = take(ctx.manager.show(ctx.params[0]), refusal);
  if (!key) return refusal;
  auth::UsageStore* usage = usage_store(ctx, refusal);
  if (!usage) return refusal;
  auto report = take(auth::key_usage_report(*usage, *key), refusal);
  if (!report) return refusal;
  return respond(200, auth::usage_json(*report));
}

struct Endpoint {
  std::string_view method;
  std::string_view pattern;
  Handler handler;
};

constexpr std::array kEndpoints = {
    Endpoint{"GET", "/v1/orgs", list_orgs},
    Endpoint{"POST", "/v1/orgs", create_org},
    Endpoint{"GET", "/v1/orgs/{org}", show_org},
    Endpoint{"PATCH", "/v1/orgs/{org}", update_org},
    Endpoint{"GET", "/v1/orgs/{org}/usage", org_usage},
    Endpoint{"GET", "/v1/orgs/{org}/keys", list_org_keys},
    Endpoint{"GET", "/v1/keys", list_keys},
    Endpoint{"POST", "/v1/keys", create_key},
    Endpoint{"GET", "/v1/keys/{key_id}", show_key},
    Endpoint{"PATCH", "/v1/keys/{key_id}", update_key},
    Endpoint{"DELETE", "/v1/keys/{key_id}", delete_key},
    Endpoint{"POST", "/v1/keys/{key_id}/revoke", change_state<&auth::KeyManager::revoke>},
    Endpoint{"POST", "/v1/keys/{key_id}/deactivate", change_state<&auth::KeyManager::deactivate>},
    Endpoint{"POST", "/v1/keys/{key_id}/activate", change_state<&auth::KeyManager::activate>},
    Endpoint{"POST", "/v1/keys/{key_id}/rotate", rotate_key},
    Endpoint{"GET", "/v1/keys/{key_id}/usage", key_usage},
};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto end = path.find('/');
    segments.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return segments;
}

// The parameters when `path` has the pattern's shape ("{...}" matches one segment).
std::optional<std::vector<std::string>> match(std::string_view pattern,
                                              const std::vector<std::string_view>& path) {
  const std::vector<std::string_view> parts = split_path(pattern);
  if (parts.size() != path.size()) return std::nullopt;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].starts_with('{'))
      params.emplace_back(path[i]);
    else if (parts[i] != path[i])
      return std::nullopt;
  }
  return params;
}

std::string_view query_of(std::string_view target) {
  const auto mark = target.find('?');
  return mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
}

bool is_api_path(std::string_view path) {
  return path == "/v1" || path.starts_with("/v1/");
}

auth::UnixSeconds system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct AdminApi::Call {
  const AdminRequest& request;
  std::string_view path;
  std::string_view endpoint = "-";  // the pattern, for the log (never the raw path)
};

AdminApi::AdminApi(conf::ConfigPtr config, AdminToken token, AdminApiDependencies dependencies)
    : config_(std::move(config)), token_(std::move(token)), dependencies_(std::move(dependencies)) {
  if (!dependencies_.open_repository) dependencies_.open_repository = auth::open_key_repository;
  if (!dependencies_.open_usage) dependencies_.open_usage = auth::open_usage_store;
  if (!dependencies_.clock) dependencies_.clock = system_now;
}

AdminApi::~AdminApi() = default;

void AdminApi::update_config(conf::ConfigPtr config) {
  config_.store(std::move(config));
}

std::optional<AdminResponse> AdminApi::handle(const AdminRequest& request) {
  const std::string_view target = request.target;
  Call call{request, target.substr(0, target.find('?'))};
  if (!is_api_path(call.path)) return std::nullopt;

  if (!token_.configured()) {
    return admin_json::error(
        403, "authorization_error", "admin_api_disabled",
        token_.problem().empty()
            ? "The management API is disabled: no admin token is configured (set "
              "admin.token_env or admin.token_file)"
            : "The management API is disabled: " + token_.problem());
  }
  const AdminToken::Check check = token_.check(request.authorization);
  if (check != AdminToken::Check::ok) {
    const bool missing = check == AdminToken::Check::missing;
    AdminResponse response = admin_json::error(
        401, "authentication_error", missing ? "missing_admin_token" : "invalid_admin_token",
        missing ? "Send the admin token as Authorization: Bearer <token>"
                : "The admin token is not valid");
    response.headers.push_back(
        {"WWW-Authenticate", missing ? R"(Bearer realm="keygate-admin")"
                                     : R"(Bearer realm="keygate-admin", error="invalid_token")"});
    log_warn("admin api request refused",
             {{"method", request.method}, {"reason", missing ? "missing token" : "invalid token"}});
    return response;
  }

  AdminResponse response = route(call);
  if (response.status == 503) {
    // The store or its connection failed: open afresh on the next request.
    repository_.reset();
    usage_.reset();
  }
  if (request.method != "GET" || response.status >= 500) {
    log_info(
        "admin api",
        {{"method", request.method}, {"endpoint", call.endpoint}, {"status", response.status}});
  }
  return response;
}

AdminResponse AdminApi::route(Call& call) {
  const std::vector<std::string_view> path = split_path(call.path);
  const Endpoint* found = nullptr;
  std::vector<std::string> params;
  std::string allowed;
  for (const Endpoint& endpoint : kEndpoints) {
    auto matched = match(endpoint.pattern, path);
    if (!matched) continue;
    if (endpoint.method == call.request.method) {
      found = &endpoint;
      params = std::move(*matched);
      break;
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(endpoint.method);
  }
  if (found == nullptr && allowed.empty())
    return admin_json::error(404, "invalid_request_error", "not_found",
                             "No such management API endpoint");
  if (found == nullptr) {
    AdminResponse response =
        admin_json::error(405, "invalid_request_error", "method_not_allowed",
                          call.request.method + " is not allowed here (allowed: " + allowed + ")");
    response.headers.push_back({"Allow", allowed});
    return response;
  }
  call.endpoint = found->pattern;
  if (found->pattern.find("{key_id}") != std::string_view::npos && !valid_key_id(params[0]))
    return bad_key_reference();

  const conf::ConfigPtr config = config_.load();
  if (!repository_) {
    auth::StoreStatus error;
    repository_ = dependencies_.open_repository(*config, error);
    if (!repository_) return key_error(auth::KeyErrc::store_unavailable, error.message);
  }
  auth::KeyManagerOptions options;
  options.keys = config->keys;
  for (const conf::RateLimitPolicyConfig& policy : config->rate_limits.policies)
    options.rate_limit_policies.push_back(policy.name);
  // Plans' monthly quotas become a policy of this name (docs/rate-limits.md).
  if (!options.rate_limit_policies.empty()) options.rate_limit_policies.push_back("monthly_quota");
  options.clock = dependencies_.clock;
  auth::KeyManager manager(repository_, dependencies_.hasher, std::move(options));

  Context ctx{manager,
              [this, config](auth::StoreStatus& error) -> auth::UsageStore* {
                if (!usage_) usage_ = dependencies_.open_usage(*config, repository_, error);
                return usage_.get();
              },
              std::move(params), call.request.body, query_of(call.request.target)};
  return found->handler(ctx);
}

}  // namespace keygate::proxy
