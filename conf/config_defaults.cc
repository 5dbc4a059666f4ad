#include "conf/config_defaults.h"

#include <filesystem>
#include <map>

namespace keygate::conf {
namespace {

std::string resolve(const std::string& path, const std::filesystem::path& base) {
  if (path.empty()) return path;
  std::filesystem::path p(path);
  if (p.is_absolute()) return path;
  return (base / p).lexically_normal().string();
}

}  // namespace

std::string key_type_code(const std::string& type) {
  static const std::map<std::string, std::string> kCodes = {
      {"public", "pk"}, {"secret", "sk"}, {"restricted", "rk"}, {"admin", "ak"}, {"test", "tk"}};
  auto known = kCodes.find(type);
  if (known != kCodes.end()) return known->second;
  // Letters only, so "a_b" gives "ab" and the prefix keeps single underscores.
  std::string code;
  for (char c : type)
    if (c != '_' && code.size() < 2) code += c;
  return code;
}

std::vector<KeyPrefixConfig> default_prefixes(const std::vector<std::string>& environments,
                                              const std::vector<std::string>& types) {
  std::vector<KeyPrefixConfig> prefixes;
  for (const auto& environment : environments)
    for (const auto& type : types)
      prefixes.push_back({environment, type, key_type_code(type) + "_" + environment + "_"});
  return prefixes;
}

void resolve_relative_paths(Config& config, const std::string& base_dir) {
  const std::filesystem::path base(base_dir.empty() ? "." : base_dir);
  config.store.file_path = resolve(config.store.file_path, base);
  config.admin.token_file = resolve(config.admin.token_file, base);
  config.keys.pepper_file = resolve(config.keys.pepper_file, base);
  for (auto& listener : config.listeners) {
    auto& tls = listener.tls;
    for (auto* file : {&tls.cert_file, &tls.key_file, &tls.client_ca_file})
      *file = resolve(*file, base);
    for (auto& certificate : tls.certificates) {
      certificate.cert_file = resolve(certificate.cert_file, base);
      certificate.key_file = resolve(certificate.key_file, base);
    }
  }
  for (auto& upstream : config.upstreams) {
    auto& tls = upstream.tls;
    for (auto* file : {&tls.ca_file, &tls.cert_file, &tls.key_file}) *file = resolve(*file, base);
  }
  if (config.access_log.path != "stdout" && config.access_log.path != "stderr")
    config.access_log.path = resolve(config.access_log.path, base);
}

}  // namespace keygate::conf
