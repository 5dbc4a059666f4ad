// `keygate keys create|list|show|revoke|deactivate|activate|rotate|delete|expire|rename|
// set-scopes` and `keygate orgs create|list|set-plan`: KeyManager on the command line, against
// the store the configuration names (store.kind file or redis).
//
// Every command takes --config FILE (or $KEYGATE_CONFIG). A key is named by its id, its
// display prefix, or the raw key. `create` and `rotate` print the raw key exactly once;
// nothing else ever prints or stores it. Every command takes --json and then prints what the
// admin API answers to the same request (docs/admin-api.md): one shape for a key everywhere
// (auth/key_output.h: never the hash, null for unset fields), {"changed","record"} for a
// change, {"keys"|"orgs": [...], "next_cursor"} for a list (--limit/--cursor page it).
// `rotate` keeps the old key's expiry date unless --expires or --no-expiry says otherwise.
//
// Exit codes: 0 done (also when nothing needed changing, e.g. revoking a revoked key),
// 1 refused (not found, plan limit reached, wrong state), 2 usage or configuration error,
// 3 store unavailable (unreachable, unreadable or corrupt).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "auth/key_hash.h"
#include "auth/key_manager.h"
#include "auth/key_record.h"
#include "auth/key_repository.h"
#include "conf/config.h"
#include "conf/config_loader.h"

namespace CLI {
class App;
class Error;
}  // namespace CLI

namespace keygate::auth {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnavailable = 3;

// What the commands reach outside themselves. out, err, load_config and open_repository are
// required; clock and env fall back to the system's. default_keys_cli_env() fills everything
// for the binary; tests replace members.
struct KeysCliEnv {
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  std::function<conf::LoadResult(const std::string& path)> load_config;
  // Opens the store the configuration names; on failure sets `error` and returns null.
  std::function<std::shared_ptr<KeyRepository>(const conf::Config& config, StoreStatus& error)>
      open_repository;
  std::function<UnixSeconds()> clock;
  KeyHasher::EnvLookup env;  // for the HMAC pepper and the default --created-by ($USER)
};

// The exit code a KeyManager error ends a command with (the table above).
int exit_code_for(KeyErrc code);

// std::cout/std::cerr, conf::load_config_file, open_key_repository, the system clock, getenv.
KeysCliEnv default_keys_cli_env();

// The store named by config.store: a FileKeyStore, or a RedisKeyRepository over a fresh
// blocking connection. Null and `error` set when it cannot be opened.
std::shared_ptr<KeyRepository> open_key_repository(const conf::Config& config, StoreStatus& error);

// Registers the `keys` and `orgs` subcommands. Their callbacks run inside app.parse() and
// report a non-zero exit code by throwing CLI::RuntimeError(code), which app.exit() returns
// without printing (CLI11_PARSE does exactly that).
void add_keys_commands(CLI::App& app, std::shared_ptr<const KeysCliEnv> env);

// app.exit(error) with CLI11's own usage codes (105, 106, ...) folded into kExitUsage; the
// codes our callbacks throw (1..3) and help (0) pass through. For main() around app.parse().
int keys_cli_exit_code(const CLI::App& app, const CLI::Error& error, std::ostream& out,
                       std::ostream& err);

// Runs one `keys ...` or `orgs ...` command line (without the program name) in-process: what
// the binary and the tests both call.
int run_keys_cli(const std::vector<std::string>& args, KeysCliEnv env);
int run_keys_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace keygate::auth
