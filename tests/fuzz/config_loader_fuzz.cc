// The YAML configuration loader on any text: conf::load_config_string never throws and never
// crashes, and it either returns a configuration or at least one error with a message.
// (An exception escaping it reaches std::terminate, which libFuzzer reports as a crash.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config_loader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  // Relative paths in the text (store.file, token_file, ...) resolve under a directory that
  // does not exist, so no input reads the machine's files.
  const auto result =
      keygate::conf::load_config_string(yaml, "fuzz.yaml", "/nonexistent/keygate-fuzz");
  FUZZ_CHECK(result.ok() == result.errors.empty());
  for (const auto& error : result.errors) {
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(error.line >= 0 && error.column >= 0);
    FUZZ_CHECK(error.to_string().starts_with("fuzz.yaml"));
  }
  return 0;
}
