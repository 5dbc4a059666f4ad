// Usage on the command line, added beside the key commands (keys_cli.h):
//   keygate orgs usage ORG [--json]   calls in the current 30-day period, the plan's monthly
//                                     limit and what remains, and each key's counters
//   keygate keys usage KEY [--json]   one key's counters, last use and last client address
//   keygate keys show KEY             gains a "usage" block (the --json form is unchanged;
//                                     use `keys usage --json`)
// Exit codes as keys_cli.h. Counters reach the store once per usage.flush_interval, so they
// lag the proxy by up to that long.
#pragma once

#include <memory>

#include "auth/keys_cli.h"
#include "auth/usage_store.h"

namespace keygate::auth {

// Call after add_keys_commands(app, ...): it extends the `keys` and `orgs` subcommands.
void add_usage_commands(CLI::App& app, std::shared_ptr<const KeysCliEnv> env,
                        UsageStoreOpener open_usage = open_usage_store);

}  // namespace keygate::auth
