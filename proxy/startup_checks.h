// What `serve` needs from outside the configuration file before it can start: the files and
// environment variables the file refers to. `keygate check-config` runs the same checks, so a
// file that passes it does not fail at start for a missing pepper, token file or secret.
#pragma once

#include <string>
#include <vector>

#include "conf/config.h"

namespace keygate::proxy {

struct StartupProblem {
  std::string setting;  // e.g. "keys.pepper_file", "store.redis.password_env"
  std::string message;  // says which file or variable, and what is wrong with it
  // true: serve refuses to start; false: it starts without the feature (the management API
  // without a usable admin token) and logs why. check-config fails either way.
  bool fatal = true;
  // Only worth a mention: serve and check-config carry on (a read-only key file directory).
  bool warning = false;

  std::string to_string() const { return setting + ": " + message; }
};

// Reads the referenced files and looks up the variables (getenv); writes nothing.
std::vector<StartupProblem> startup_problems(const conf::Config& config);

}  // namespace keygate::proxy
