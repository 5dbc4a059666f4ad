// Values keygate fills in when the file leaves them out and they cannot be a constant in
// config.h because they depend on other settings.
#pragma once

#include <string>
#include <vector>

#include "conf/config.h"

namespace keygate::conf {

// There are no default plans: without keys.plans no org has a key maximum or a quota. The
// example plans (free, starter, ...) are in docs/configuration.md and
// deploy/examples/keygate.yaml.

// The short code a generated prefix starts with: public -> pk, secret -> sk, restricted -> rk,
// admin -> ak, test -> tk; any other type -> its first two letters (underscores skipped).
std::string key_type_code(const std::string& type);

// One prefix per (environment, type): "<code>_<environment>_", e.g. sk_live_.
std::vector<KeyPrefixConfig> default_prefixes(const std::vector<std::string>& environments,
                                              const std::vector<std::string>& types);

// Relative paths in the file are relative to the file's directory, not to wherever the
// process happens to be started.
void resolve_relative_paths(Config& config, const std::string& base_dir);

}  // namespace keygate::conf
