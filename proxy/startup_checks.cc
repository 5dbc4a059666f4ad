#include "proxy/startup_checks.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "auth/file_key_store.h"
#include "auth/key_hash.h"
#include "proxy/admin_token.h"

namespace keygate::proxy {
namespace {

bool env_set(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value != '\0';
}

std::string directory_of(const std::string& file) {
  const auto dir = std::filesystem::path(file).parent_path();
  return dir.empty() ? "." : dir.string();
}

std::string missing_directory(const std::string& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(directory_of(file), ec)) return {};
  return "the directory " + directory_of(file) + " of " + file + " does not exist";
}

bool directory_writable(const std::string& file) {
  return ::access(directory_of(file).c_str(), W_OK) == 0;
}

void check_pepper(const conf::Config& config, std::vector<StartupProblem>& out) {
  if (config.keys.hash != conf::KeysConfig::Hash::hmac_sha256) return;
  std::string error;
  if (!auth::KeyHasher::create(config.keys, error)) {
    const bool from_file = !config.keys.pepper_file.empty() &&
                           (config.keys.pepper_env.empty() || !env_set(config.keys.pepper_env));
    const std::string setting = from_file ? "keys.pepper_file" : "keys.pepper_env";
    if (error.starts_with(setting + ": ")) error.erase(0, setting.size() + 2);
    out.push_back({setting, error});
  }
}

void check_admin_token(const conf::Config& config, std::vector<StartupProblem>& out) {
  if (!config.admin.enabled) return;
  const AdminToken token = AdminToken::load(config.admin);
  if (token.problem().empty()) return;
  const bool env_named = !config.admin.token_env.empty();
  const bool from_file =
      !config.admin.token_file.empty() && (!env_named || !env_set(config.admin.token_env));
  out.push_back({from_file ? "admin.token_file" : "admin.token_env",
                 token.problem() + "; the management API would be disabled", false});
}

void check_store(const conf::Config& config, std::vector<StartupProblem>& out) {
  if (config.store.kind == conf::StoreConfig::Kind::file) {
    const std::string& path = config.store.file_path;
    if (auto problem = missing_directory(path); !problem.empty()) {
      out.push_back({"store.file", problem});
      return;
    }
    auth::FileKeyStore store(path);
    if (const auto status = store.reload(); !status.ok())
      out.push_back({"store.file", status.message});
    // A key file mounted read-only (a ConfigMap) serves; creating keys and recording usage
    // in it do not.
    if (!directory_writable(path))
      out.push_back({"store.file",
                     "the directory " + directory_of(path) +
                         " is not writable: keys cannot be created there and usage is not recorded",
                     false, true});
  }
  if (config.store.redis_enabled && !config.store.redis.password_env.empty() &&
      !env_set(config.store.redis.password_env))
    out.push_back({"store.redis.password_env",
                   "$" + config.store.redis.password_env +
                       " is unset or empty, so Redis would refuse every command (NOAUTH)"});
}

void check_access_log(const conf::Config& config, std::vector<StartupProblem>& out) {
  const std::string& path = config.access_log.path;
  if (!config.access_log.enabled || path == "stdout" || path == "stderr") return;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    if (::access(path.c_str(), W_OK) != 0)
      out.push_back({"access_log.path", path + " is not writable"});
    return;
  }
  if (auto problem = missing_directory(path); !problem.empty())
    out.push_back({"access_log.path", problem});
  else if (!directory_writable(path))
    out.push_back({"access_log.path",
                   "the directory " + directory_of(path) + " of " + path + " is not writable"});
}

}  // namespace

std::vector<StartupProblem> startup_problems(const conf::Config& config) {
  std::vector<StartupProblem> out;
  check_pepper(config, out);
  check_admin_token(config, out);
  check_store(config, out);
  check_access_log(config, out);
  return out;
}

}  // namespace keygate::proxy
