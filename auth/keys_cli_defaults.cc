// The real-world wiring of the keys CLI, apart from keys_cli.cc so that tests which hand in
// their own KeysCliEnv do not link the Redis client or the configuration loader.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "auth/file_key_store.h"
#include "auth/keys_cli.h"
#include "auth/redis_key_repository.h"
#include "redis/redis_client.h"
#include "redis/sync_client.h"

namespace keygate::auth {

std::shared_ptr<KeyRepository> open_key_repository(const conf::Config& config, StoreStatus& error) {
  if (config.store.kind == conf::StoreConfig::Kind::file) {
    if (config.store.file_path.empty()) {
      error = StoreStatus::error(StoreErrc::conflict,
                                 "store.kind is file but store.file names no file");
      return nullptr;
    }
    return std::make_shared<FileKeyStore>(config.store.file_path);
  }
  std::string connect_error;
  std::unique_ptr<redis::SyncClient> client =
      redis::connect_sync(config.store.redis, &connect_error);
  if (!client) {
    error = StoreStatus::error(StoreErrc::unavailable,
                               redis::describe_server(config.store.redis) + ": " + connect_error);
    return nullptr;
  }
  return std::make_shared<RedisKeyRepository>(std::move(client), config.store.redis);
}

KeysCliEnv default_keys_cli_env() {
  KeysCliEnv env;
  env.out = &std::cout;
  env.err = &std::cerr;
  env.load_config = [](const std::string& path) { return conf::load_config_file(path); };
  env.open_repository = open_key_repository;
  env.clock = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  env.env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  return env;
}

int run_keys_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  KeysCliEnv env = default_keys_cli_env();
  env.out = &out;
  env.err = &err;
  return run_keys_cli(args, std::move(env));
}

}  // namespace keygate::auth
