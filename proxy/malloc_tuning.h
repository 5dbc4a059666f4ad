// glibc's per-thread cache of freed blocks (tcache) keeps 7 blocks per size by default. A worker
// that has 50 requests suspended at once (waiting for Redis or an upstream) frees their objects
// in bursts far larger than that, and every block past the seventh goes through malloc's slow
// paths. With 128 per size, the rate-limited path costs ~6% fewer instructions per request
// (callgrind: 61.0k -> 57.4k); the blocks kept are bounded by what was live at the peak.
//
// glibc reads the setting (GLIBC_TUNABLES) only when a process starts, so `keygate serve`
// re-executes itself once with it added: same pid, same arguments, same descriptors. A
// tcache_count the operator set already is left as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keygate::proxy {

// The GLIBC_TUNABLES to run with, given the current value (empty if unset); nullopt when it
// names a tcache_count already.
std::optional<std::string> tunables_with_tcache(std::string_view current);

// Returns only if nothing needs doing or the re-execution failed (then keygate runs untuned).
void reexec_with_malloc_tuning(char** argv);

}  // namespace keygate::proxy
