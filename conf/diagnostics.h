// Collects configuration errors so that one load reports all of them, not only the first.
#pragma once

#include <string>
#include <vector>

#include "conf/config.h"
#include "conf/config_loader.h"

namespace YAML {
class Mark;
}

namespace keygate::conf {

// yaml-cpp counts from 0 and uses -1 for "unknown"; people and editors count from 1.
SourceMark to_source_mark(const YAML::Mark& mark);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  // A mark of {0, 0} means "no particular place" and is reported as `file: message`.
  void error(SourceMark where, std::string message);

  bool empty() const { return errors_.empty(); }
  // Ordered by position, so the report reads from the top of the file down whatever order
  // the checks ran in.
  std::vector<ConfigError> sorted_errors() const;

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

}  // namespace keygate::conf
