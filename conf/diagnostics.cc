#include "conf/diagnostics.h"

#include <yaml-cpp/mark.h>

#include <algorithm>

namespace keygate::conf {

SourceMark to_source_mark(const YAML::Mark& mark) {
  if (mark.line < 0 || mark.column < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string ConfigError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

void Diagnostics::error(SourceMark where, std::string message) {
  errors_.push_back({file_, where.line, where.column, std::move(message)});
}

std::vector<ConfigError> Diagnostics::sorted_errors() const {
  std::vector<ConfigError> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigError& a, const ConfigError& b) {
    if (a.line != b.line) return a.line < b.line;
    return a.column < b.column;
  });
  return sorted;
}

}  // namespace keygate::conf
