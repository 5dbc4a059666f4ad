// keygate: API-key authentication sidecar.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string_view>

#include "auth/keys_cli.h"
#include "auth/usage_cli.h"
#include "conf/config_loader.h"
#include "proxy/malloc_tuning.h"
#include "proxy/server.h"
#include "proxy/startup_checks.h"

#ifndef KEYGATE_VERSION
#define KEYGATE_VERSION "dev"
#endif

namespace {

// The file, then what `serve` checks before it starts (referenced files and variables), so a
// file that passes here does not fail at start.
int check_config(const std::string& path) {
  auto result = keygate::conf::load_config_file(path);
  for (const auto& e : result.errors) std::cerr << e.to_string() << "\n";
  if (!result.ok()) return 1;
  bool failed = false;
  for (const auto& problem : keygate::proxy::startup_problems(*result.config)) {
    std::cerr << path << ": " << (problem.warning ? "warning: " : "") << problem.to_string()
              << (problem.fatal && !problem.warning ? " (keygate serve would refuse to start)" : "")
              << "\n";
    failed = failed || !problem.warning;
  }
  if (failed) return 1;
  std::cout << path << ": ok\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything is allocated or opened: a long-running server is worth tuning malloc for
  // (proxy/malloc_tuning.h); the short CLI commands are not.
  if (argc > 1 && std::string_view(argv[1]) == "serve")
    keygate::proxy::reexec_with_malloc_tuning(argv);
  CLI::App app{"keygate: API-key authentication sidecar"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("keygate ") + KEYGATE_VERSION);

  std::string config_path;
  auto* serve = app.add_subcommand("serve", "Run the proxy");
  serve->add_option("-c,--config", config_path, "Configuration file")
      ->required()
      ->envname("KEYGATE_CONFIG");

  auto* check = app.add_subcommand("check-config", "Validate a configuration file and exit");
  check->add_option("-c,--config", config_path, "Configuration file")
      ->required()
      ->envname("KEYGATE_CONFIG");

  keygate::auth::add_keys_commands(app, std::make_shared<const keygate::auth::KeysCliEnv>(
                                            keygate::auth::default_keys_cli_env()));
  keygate::auth::add_usage_commands(app, std::make_shared<const keygate::auth::KeysCliEnv>(
                                             keygate::auth::default_keys_cli_env()));

  try {
    app.parse(argc, argv);
  } catch (const CLI::Error& e) {
    return keygate::auth::keys_cli_exit_code(app, e, std::cout, std::cerr);
  }
  if (*serve) return keygate::proxy::serve(config_path);
  if (*check) return check_config(config_path);
  return 0;
}
