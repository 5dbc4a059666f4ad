#include "auth/auth_result.h"

#include <array>
#include <string>

namespace keygate::auth {
namespace {

struct CodeInfo {
  int status;
  std::string_view type;
  std::string_view code;
  std::string_view message;
};

constexpr std::string_view kAuthn = "authentication_error";
constexpr std::string_view kAuthz = "authorization_error";

// Indexed by AuthCode; the static_assert below keeps it in step with the enum.
constexpr std::array<CodeInfo, kAuthCodeCount> kCodes = {{
    {200, "", "ok", "OK"},
    {401, kAuthn, "missing_api_key", "No API key provided. Use the Authorization: Bearer header."},
    {401, kAuthn, "invalid_api_key", "Invalid API key provided"},
    {401, kAuthn, "expired_api_key", "API key has expired"},
    {401, kAuthn, "revoked_api_key", "API key has been revoked"},
    {401, kAuthn, "inactive_api_key", "API key is inactive"},
    {403, kAuthz, "insufficient_permissions",
     "API key does not have permission for this operation"},
    {403, kAuthz, "wrong_environment", "This API key's environment is not allowed on this route"},
    {403, kAuthz, "key_type_not_allowed", "This key type is not allowed on this route"},
    {403, kAuthz, "ip_not_allowed", "Requests from this address are not allowed for this API key"},
    {503, "service_unavailable", "store_unavailable",
     "The API key store is temporarily unavailable. Please retry."},
}};
static_assert(kCodes.back().code == "store_unavailable");

const CodeInfo& info(AuthCode code) {
  const auto index = static_cast<std::size_t>(code);
  return index < kCodes.size() ? kCodes[index]
                               : kCodes[static_cast<int>(AuthCode::invalid_api_key)];
}

// The messages are fixed ASCII without quotes or backslashes, so no JSON escaping is needed.
std::array<std::string, kAuthCodeCount> build_bodies() {
  std::array<std::string, kAuthCodeCount> bodies;
  for (std::size_t i = 1; i < kCodes.size(); ++i) {
    const CodeInfo& c = kCodes[i];
    bodies[i] = std::string("{\"error\":{\"message\":\"") + std::string(c.message) +
                "\",\"type\":\"" + std::string(c.type) + "\",\"code\":\"" + std::string(c.code) +
                "\"}}";
  }
  return bodies;
}

}  // namespace

int http_status(AuthCode code) {
  return info(code).status;
}
std::string_view error_type(AuthCode code) {
  return info(code).type;
}
std::string_view error_code(AuthCode code) {
  return info(code).code;
}
std::string_view error_message(AuthCode code) {
  return info(code).message;
}

std::string_view error_body(AuthCode code) {
  static const std::array<std::string, kAuthCodeCount> bodies = build_bodies();
  const auto index = static_cast<std::size_t>(code);
  return index < bodies.size() ? bodies[index]
                               : bodies[static_cast<int>(AuthCode::invalid_api_key)];
}

}  // namespace keygate::auth
