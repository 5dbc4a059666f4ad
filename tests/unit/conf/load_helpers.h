// Shared by the conf tests: load a YAML snippet and look at what came back.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conf/config_loader.h"

namespace keygate::conf::testing {

// The sections every valid file needs; snippets that test one error append these so the
// error under test is the only one.
inline constexpr const char* kRequiredSections = R"(
upstreams: [{name: api, url: "http://127.0.0.1:3000"}]
routes: [{match: {path_prefix: /}, upstream: api}]
store: {kind: file, file: keys.yaml}
)";

inline LoadResult load(const std::string& yaml) {
  return load_config_string(yaml, "t.yaml", "/etc/keygate");
}

// `snippet` followed by kRequiredSections.
inline LoadResult load_with_required(const std::string& snippet) {
  return load(snippet + kRequiredSections);
}

// A `store:` snippet after the two other required sections, on lines 1 and 2: errors in the
// snippet are reported from line 3.
inline LoadResult load_store(const std::string& store) {
  return load(
      "upstreams: [{name: api, url: \"http://127.0.0.1:3000\"}]\n"
      "routes: [{match: {path_prefix: /}, upstream: api}]\n" +
      store);
}

inline std::vector<std::string> error_strings(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& error : result.errors) out.push_back(error.to_string());
  return out;
}

// The one error a snippet produced, or a failure listing all of them.
inline std::string only_error(const LoadResult& result) {
  auto errors = error_strings(result);
  EXPECT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_FALSE(result.ok());
  return errors.empty() ? "" : errors.front();
}

// Fails the test (with every error) unless the load succeeded. A copy, because the
// LoadResult passed in is usually a temporary.
inline Config loaded(const LoadResult& result) {
  EXPECT_TRUE(result.ok()) << ::testing::PrintToString(error_strings(result));
  return result.ok() ? *result.config : Config{};
}

}  // namespace keygate::conf::testing
