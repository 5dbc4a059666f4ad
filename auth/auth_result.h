// The outcome of authenticating one request, and how each failure is reported to the caller.
//
// The JSON bodies follow the shape API users know:
//   {"error":{"message":"Invalid API key provided","type":"authentication_error",
//             "code":"invalid_api_key"}}
// 401 authentication_error: we do not know who you are (no key, bad key, dead key).
// 403 authorization_error:  we know the key, but it may not do this, here, from there.
// 503 service_unavailable:  the store could not be asked; never disguised as a 401/403.
#pragma once

#include <string_view>

namespace keygate::auth {

enum class AuthCode {
  ok,
  missing_api_key,
  invalid_api_key,
  expired_api_key,
  revoked_api_key,
  inactive_api_key,
  insufficient_permissions,
  wrong_environment,
  key_type_not_allowed,
  ip_not_allowed,
  store_unavailable,
};

inline constexpr int kAuthCodeCount = static_cast<int>(AuthCode::store_unavailable) + 1;

// 200 for ok, else 401 / 403 / 503 as above.
int http_status(AuthCode code);
// "authentication_error", "authorization_error", "service_unavailable"; "" for ok.
std::string_view error_type(AuthCode code);
// The enumerator's name, e.g. "invalid_api_key" (also the metrics label).
std::string_view error_code(AuthCode code);
// A sentence for humans, e.g. "Invalid API key provided".
std::string_view error_message(AuthCode code);
// The whole JSON response body (static storage, built once); "" for ok.
std::string_view error_body(AuthCode code);

}  // namespace keygate::auth
