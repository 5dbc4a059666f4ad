#include "proxy/malloc_tuning.h"

#include <unistd.h>

#include <cstdlib>

namespace keygate::proxy {
namespace {

constexpr std::string_view kTcacheCount = "glibc.malloc.tcache_count";
constexpr std::string_view kTcacheSetting = "glibc.malloc.tcache_count=128";

}  // namespace

std::optional<std::string> tunables_with_tcache(std::string_view current) {
  // Also what stops a second re-execution: the setting is there after the first.
  if (current.find(kTcacheCount) != std::string_view::npos) return std::nullopt;
  if (current.empty()) return std::string(kTcacheSetting);
  return std::string(current) + ":" + std::string(kTcacheSetting);
}

void reexec_with_malloc_tuning(char** argv) {
  const char* current = std::getenv("GLIBC_TUNABLES");
  const auto tunables = tunables_with_tcache(current ? current : "");
  if (!tunables || ::setenv("GLIBC_TUNABLES", tunables->c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // No /proc (or exec refused): run as started, only slower.
  if (current) {
    ::setenv("GLIBC_TUNABLES", current, 1);
  } else {
    ::unsetenv("GLIBC_TUNABLES");
  }
}

}  // namespace keygate::proxy
