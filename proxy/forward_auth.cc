#include "proxy/forward_auth.h"

#include <boost/beast/core/string.hpp>

#include "proxy/http_head.h"
#include "proxy/identity_headers.h"

namespace keygate::proxy {
namespace {

using Flavor = conf::AuthorizeConfig::Flavor;

ErrorSpec missing(const char* what) {
  return ErrorSpec{400, "invalid_request_error", "bad_request", what};
}

}  // namespace

std::optional<ErrorSpec> read_original_request(const RequestHeader& req,
                                               const conf::AuthorizeConfig& authorize,
                                               std::string& method, std::string& target,
                                               std::string_view& host) {
  if (authorize.flavor == Flavor::envoy) {
    // ext_authz keeps the method and Host, and puts its path_prefix before the original path.
    std::string_view t = req.target();
    const auto& prefix = authorize.path_prefix;
    if (!t.starts_with(prefix) ||
        (t.size() > prefix.size() && t[prefix.size()] != '/' && t[prefix.size()] != '?'))
      return missing("The check request's path does not start with the configured path_prefix");
    t.remove_prefix(prefix.size());
    target.assign(t);
    if (target.empty() || target.front() == '?') target.insert(0, "/");
    method.assign(req.method_string());
    return std::nullopt;
  }
  // One pass over the fields for the three names (a front proxy sends many headers, and a
  // lookup by name in Beast's tree compares them character by character).
  std::optional<std::string_view> uri, original_method, original_host;
  for (const auto& field : req) {
    const std::string_view name = field.name_string();
    auto matches = [&](const std::string& wanted) {
      return name.size() == wanted.size() && boost::beast::iequals(name, wanted);
    };
    if (!uri && matches(authorize.uri_header)) {
      uri = field.value();
    } else if (!original_method && matches(authorize.method_header)) {
      original_method = field.value();
    } else if (!original_host && matches(authorize.host_header)) {
      original_host = field.value();
    }
  }
  if (!uri)
    return missing(authorize.flavor == Flavor::nginx
                       ? "The check request has no X-Original-URI: set proxy_set_header "
                         "X-Original-URI $request_uri in the auth_request location"
                       : "The check request names no original URI (X-Forwarded-Uri)");
  target.assign(*uri);
  method.assign(original_method ? *original_method : std::string_view(req.method_string()));
  if (original_host) host = *original_host;
  return std::nullopt;
}

void append_allowed_fields(std::string& head, const RequestContext& ctx,
                           const conf::AuthorizeConfig& authorize) {
  append_field(head, "X-Keygate-Status", "200");
  if (ctx.key) {
    const auto& config = *ctx.snapshot.config;
    for_each_identity_header(
        config.identity_headers, *ctx.key, ctx.org, config.keys.default_plan,
        [&](std::string_view name, std::string_view value) { append_field(head, name, value); });
  }
  if (authorize.flavor != Flavor::envoy || !ctx.route.config->auth.required) return;
  bool first = true;
  for (const auto& source : ctx.route.config->auth.sources) {
    if (source.kind == conf::KeySource::Kind::query) continue;  // Envoy cannot edit the query
    head += first ? "x-envoy-auth-headers-to-remove: " : ",";
    head += source.name;
    first = false;
  }
  if (!first) head += "\r\n";
}

void adapt_denied_answer(LocalAnswer& answer, const conf::AuthorizeConfig& authorize) {
  answer.headers.push_back({"X-Keygate-Status", std::to_string(answer.status)});
  if (authorize.flavor != Flavor::nginx) return;
  // auth_request reads only the head of the answer (and, were there a body, would not reuse
  // the connection to keygate): the body travels in a header.
  answer.headers.push_back({"X-Keygate-Error", std::move(answer.body)});
  answer.body.clear();
  if (answer.status != 401) answer.status = 403;
}

}  // namespace keygate::proxy
