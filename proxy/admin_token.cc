#include "proxy/admin_token.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "auth/key_hash.h"
#include "proxy/ascii.h"

namespace keygate::proxy {
namespace {

std::string digest(std::string_view token) {
  return auth::KeyHasher::sha256().hash(token);
}

}  // namespace

AdminToken AdminToken::from_value(std::string_view token) {
  AdminToken result;
  token = trim(token);
  if (!token.empty()) result.digest_ = digest(token);
  return result;
}

AdminToken AdminToken::load(const conf::AdminConfig& config) {
  if (!config.token_env.empty()) {
    const char* value = std::getenv(config.token_env.c_str());
    if (value != nullptr && !trim(value).empty()) return from_value(value);
    if (config.token_file.empty()) {
      AdminToken result;
      result.problem_ = "admin.token_env names $" + config.token_env + ", which is unset or empty";
      return result;
    }
  }
  if (config.token_file.empty()) return {};
  std::ifstream in(config.token_file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  AdminToken result = from_value(in ? text.str() : std::string());
  if (!result.configured())
    result.problem_ = "admin.token_file " + config.token_file + " is missing, unreadable or empty";
  return result;
}

AdminToken::Check AdminToken::check(std::string_view authorization) const {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !iequals(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ')
    return Check::missing;
  const std::string_view token = trim(authorization.substr(kScheme.size() + 1));
  if (token.empty()) return Check::missing;
  return auth::constant_time_equals(digest(token), digest_) ? Check::ok : Check::invalid;
}

}  // namespace keygate::proxy
