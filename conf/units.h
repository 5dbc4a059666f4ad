// Durations ("250ms", "30d") and sizes ("16KiB", "1MB", "512") as written in the YAML file.
#pragma once

#include <cstdint>
#include <string_view>

#include "conf/config.h"
#include "conf/parsed.h"

namespace keygate::conf {

// A whole number followed by one of ms, s, m, h, d. A bare number is refused: "30" could be
// seconds or milliseconds, and guessing wrong is a silent thousand-fold error.
Parsed<Duration> parse_duration(std::string_view text);

// A whole number of bytes, optionally followed by B, KB, MB, GB (powers of 1000) or
// KiB, MiB, GiB (powers of 1024).
Parsed<std::uint64_t> parse_size(std::string_view text);

}  // namespace keygate::conf
