// YAML -> conf::Config. Never throws: every problem found is returned, not only the first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"

namespace keygate::conf {

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based, 0 when unknown
  int column = 0;
  std::string message;
  // "file:line:col: message"
  std::string to_string() const;
};

struct LoadResult {
  ConfigPtr config;  // null when errors is non-empty
  std::vector<ConfigError> errors;
  bool ok() const { return config != nullptr; }
};

// Relative paths inside the file (store.file, token_file, ...) are resolved against the
// directory of `path`.
LoadResult load_config_file(const std::string& path);
// `name` stands in for the file name in error messages; `base_dir` resolves relative paths.
LoadResult load_config_string(std::string_view yaml, const std::string& name = "<config>",
                              const std::string& base_dir = ".");

}  // namespace keygate::conf
