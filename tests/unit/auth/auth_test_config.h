// Shared fixtures for the auth core tests: a KeysConfig with explicit prefixes (the defaults
// are filled in by the config loader, which these tests do not run).
#pragma once

#include "conf/config.h"

namespace keygate::auth::testing {

inline conf::KeysConfig test_keys_config() {
  conf::KeysConfig keys;
  keys.environments = {"test", "live"};
  keys.types = {"public", "secret", "restricted", "admin"};
  keys.prefixes = {
      {"live", "secret", "sk_live_"},     {"test", "secret", "sk_test_"},
      {"live", "public", "pk_live_"},     {"test", "public", "pk_test_"},
      {"live", "restricted", "rk_live_"}, {"live", "admin", "ak_live_"},
      {"stage", "secret", "fp_stage_"},
  };
  return keys;
}

}  // namespace keygate::auth::testing
