#include "conf/units.h"

#include <array>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

namespace keygate::conf {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

constexpr std::array<Unit, 5> kDurationUnits{{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

constexpr std::array<Unit, 7> kSizeUnits{{
    {"B", 1},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
}};

constexpr std::string_view kDurationHelp = "units: ms, s, m, h, d; e.g. 250ms, 2s, 5m, 1h, 30d";
constexpr std::string_view kSizeHelp =
    "units: B, KB, MB, GB, KiB, MiB, GiB; e.g. 512, 16KiB, 10MiB";

// Splits "250ms" into 250 and "ms". Only plain decimal digits: no sign, no fraction, so
// "-1s" and "1.5s" are rejected rather than half-understood.
struct NumberAndUnit {
  std::uint64_t number = 0;
  std::string_view unit;
  bool overflow = false;
};

std::optional<NumberAndUnit> split_number(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  NumberAndUnit out;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, out.number);
  out.overflow = ec == std::errc::result_out_of_range;
  out.unit = text.substr(digits);
  return out;
}

template <std::size_t N>
const Unit* find_unit(const std::array<Unit, N>& units, std::string_view name) {
  for (const auto& unit : units)
    if (unit.name == name) return &unit;
  return nullptr;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  using Result = Parsed<Duration>;
  auto parts = split_number(text);
  if (!parts)
    return Result::fail(quoted(text) + " is not a duration (" + std::string(kDurationHelp) + ")");
  if (parts->unit.empty()) {
    return Result::fail("duration " + quoted(text) + " has no unit; write e.g. '" +
                        std::string(text) + "s' (" + std::string(kDurationHelp) + ")");
  }
  if (parts->unit.front() == ' ')
    return Result::fail("write duration " + quoted(text) + " without a space, e.g. '2s'");
  if (parts->unit.front() == '.') {
    return Result::fail("duration " + quoted(text) +
                        " must be a whole number; use a smaller unit (1500ms, not 1.5s)");
  }
  const Unit* unit = find_unit(kDurationUnits, parts->unit);
  if (!unit) {
    return Result::fail("unknown duration unit " + quoted(parts->unit) + " in " + quoted(text) +
                        " (" + std::string(kDurationHelp) + ")");
  }
  // Milliseconds are held in an int64; anything near that is a typo, not a timeout.
  constexpr std::uint64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (parts->overflow || parts->number > kMax / unit->factor)
    return Result::fail("duration " + quoted(text) + " is too large");
  return Result::ok(Duration(static_cast<std::int64_t>(parts->number * unit->factor)));
}

Parsed<std::uint64_t> parse_size(std::string_view text) {
  using Result = Parsed<std::uint64_t>;
  auto parts = split_number(text);
  if (!parts) return Result::fail(quoted(text) + " is not a size (" + std::string(kSizeHelp) + ")");
  if (!parts->unit.empty() && parts->unit.front() == ' ')
    return Result::fail("write size " + quoted(text) + " without a space, e.g. '16KiB'");
  if (!parts->unit.empty() && parts->unit.front() == '.') {
    return Result::fail("size " + quoted(text) +
                        " must be a whole number; use a smaller unit (1536KiB, not 1.5MiB)");
  }
  const Unit* unit = parts->unit.empty() ? &kSizeUnits[0] : find_unit(kSizeUnits, parts->unit);
  if (!unit) {
    return Result::fail("unknown size unit " + quoted(parts->unit) + " in " + quoted(text) + " (" +
                        std::string(kSizeHelp) + ")");
  }
  if (parts->overflow || parts->number > std::numeric_limits<std::uint64_t>::max() / unit->factor)
    return Result::fail("size " + quoted(text) + " is too large");
  return Result::ok(parts->number * unit->factor);
}

}  // namespace keygate::conf
