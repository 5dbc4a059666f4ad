#include "proxy/admin_api_json.h"

#include "auth/key_output.h"
#include "auth/key_record_json.h"

namespace keygate::proxy::admin_json {
namespace json = boost::json;

AdminResponse respond(unsigned status, const json::value& body) {
  AdminResponse response;
  response.status = status;
  response.body = json::serialize(body);
  return response;
}

AdminResponse error(unsigned status, std::string_view type, std::string_view code,
                    std::string_view message) {
  json::object inner;
  inner["message"] = message;
  inner["type"] = type;
  inner["code"] = code;
  json::object outer;
  outer["error"] = std::move(inner);
  return respond(status, outer);
}

AdminResponse key_error(auth::KeyErrc code, std::string_view message) {
  switch (code) {
    case auth::KeyErrc::not_found:
      return error(404, "invalid_request_error", "not_found", message);
    case auth::KeyErrc::plan_limit_reached:
      return error(409, "invalid_request_error", "plan_limit_reached", message);
    case auth::KeyErrc::invalid_argument:
      return error(400, "invalid_request_error", "invalid_argument", message);
    case auth::KeyErrc::invalid_state:
      return error(409, "invalid_request_error", "invalid_state", message);
    case auth::KeyErrc::ok:
    case auth::KeyErrc::store_unavailable:
      break;
  }
  AdminResponse response = error(503, "api_error", "store_unavailable", message);
  response.headers.push_back({"Retry-After", "1"});
  return response;
}

json::object key_view(const auth::KeyRecord& key, auth::UnixSeconds now) {
  return auth::key_json(key, now);
}

json::object org_view(const auth::OrgRecord& org) {
  return auth::org_json(org);
}

std::optional<Body> Body::parse(std::string_view text, std::string& error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return Body(json::object());
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    error = "the body is not valid JSON: " + ec.message();
    return std::nullopt;
  }
  if (!value.is_object()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  return Body(std::move(value.as_object()));
}

const json::value* Body::find(std::string_view name) {
  read_.emplace(name);
  return object_.if_contains(name);
}

bool Body::fail(std::string_view name, std::string_view what) {
  if (error_.empty()) error_ = "\"" + std::string(name) + "\" " + std::string(what);
  return false;
}

bool Body::string(std::string_view name, std::string& out, bool required, bool* present) {
  const json::value* value = find(name);
  if (present) *present = value != nullptr;
  if (value == nullptr) return required ? fail(name, "is required") : true;
  if (!value->is_string()) return fail(name, "must be a string");
  out = std::string(value->as_string());
  return true;
}

bool Body::strings(std::string_view name, std::vector<std::string>& out, bool* present) {
  const json::value* value = find(name);
  if (present) *present = value != nullptr;
  if (value == nullptr) return true;
  if (!value->is_array()) return fail(name, "must be an array of strings");
  std::vector<std::string> items;
  for (const json::value& item : value->as_array()) {
    if (!item.is_string()) return fail(name, "must be an array of strings");
    items.emplace_back(item.as_string());
  }
  out = std::move(items);
  return true;
}

bool Body::nullable_time(std::string_view name, std::optional<auth::UnixSeconds>& out,
                         bool* present) {
  const json::value* value = find(name);
  *present = value != nullptr;
  if (value == nullptr) return true;
  if (value->is_null()) {
    out.reset();
    return true;
  }
  if (value->is_int64() && value->as_int64() >= 0) {
    out = value->as_int64();
    return true;
  }
  return fail(name, "must be a Unix time in seconds (a non-negative integer) or null");
}

bool Body::non_negative(std::string_view name, std::optional<std::int64_t>& out) {
  const json::value* value = find(name);
  if (value == nullptr) return true;
  if (value->is_int64() && value->as_int64() >= 0) {
    out = value->as_int64();
    return true;
  }
  return fail(name, "must be a non-negative integer");
}

bool Body::limit_overrides(std::string_view name, std::vector<auth::LimitOverride>& out) {
  const json::value* value = find(name);
  if (value == nullptr) return true;
  constexpr std::string_view kShape =
      "must be an array of {\"policy\": string, \"limit\"?: integer, \"window_ms\"?: integer}";
  if (!value->is_array()) return fail(name, kShape);
  for (const json::value& item : value->as_array()) {
    const json::object* object = item.if_object();
    if (object == nullptr) return fail(name, kShape);
    auth::LimitOverride override_;
    for (const auto& field : *object) {
      const json::value& v = field.value();
      if (field.key() == "policy" && v.is_string()) {
        override_.policy = std::string(v.as_string());
      } else if (field.key() == "limit" && v.is_int64() && v.as_int64() >= 0) {
        override_.limit = static_cast<std::uint64_t>(v.as_int64());
      } else if (field.key() == "window_ms" && v.is_int64() && v.as_int64() > 0) {
        override_.window_ms = v.as_int64();
      } else {
        return fail(name, kShape);
      }
    }
    if (override_.policy.empty()) return fail(name, kShape);
    out.push_back(std::move(override_));
  }
  return true;
}

bool Body::no_other_fields() {
  for (const auto& field : object_)
    if (!read_.contains(field.key())) return fail(field.key(), "is not a known field");
  return error_.empty();
}

}  // namespace keygate::proxy::admin_json
