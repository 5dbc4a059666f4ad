// The management API's bearer token: read once at start from admin.token_env (preferred) or
// admin.token_file, and compared in constant time. Only its SHA-256 is kept in memory, so the
// comparison takes the same time whatever the lengths, and the token itself is not lingering
// in the process after start.
#pragma once

#include <string>
#include <string_view>

#include "conf/config.h"

namespace keygate::proxy {

class AdminToken {
 public:
  enum class Check { ok, missing, invalid };

  // getenv for token_env; trailing whitespace of either source is dropped (files end in a
  // newline). Not configured, or configured but empty/unreadable: configured() is false and
  // problem() says why (empty when simply not configured).
  static AdminToken load(const conf::AdminConfig& config);
  static AdminToken from_value(std::string_view token);  // tests

  bool configured() const { return !digest_.empty(); }
  const std::string& problem() const { return problem_; }

  // `authorization` is the whole Authorization header ("Bearer <token>").
  Check check(std::string_view authorization) const;

 private:
  std::string digest_;  // hex SHA-256 of the token; empty: no token
  std::string problem_;
};

}  // namespace keygate::proxy
