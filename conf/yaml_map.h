// A YAML mapping of the configuration, read key by key.
//
// Opening it checks its shape once (a map, no unknown keys, no key twice), so the section
// parsers only deal with values; its read() helpers leave the default in place when a key
// is absent.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/yaml_value.h"

namespace keygate::conf {

class YamlMap {
 public:
  // `keys` are the keys this mapping accepts. An empty value (`admin:` with nothing after
  // it) opens as an empty map: every default applies.
  static std::optional<YamlMap> open(const YamlValue& value, std::vector<std::string_view> keys,
                                     Diagnostics& diag);

  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The value under `key`, labelled "<label> <key>"; not present() when the key is absent.
  YamlValue get(std::string_view key) const;
  SourceMark mark() const { return mark_; }
  const std::string& label() const { return label_; }
  Diagnostics& diag() const { return *diag_; }

  // Reports "<label> needs '<key>'" when the key is absent; true when it is there.
  bool require(std::string_view key) const;

  // Each returns true when the key is present and valid, and then has set `out`.
  bool read(std::string_view key, std::string& out) const;
  bool read(std::string_view key, bool& out) const;
  bool read(std::string_view key, std::vector<std::string>& out) const;
  bool read_duration(std::string_view key, Duration& out,
                     ZeroDuration zero = ZeroDuration::rejected) const;
  bool read_size(std::string_view key, std::size_t& out) const;

  template <class Int>
  bool read_integer(std::string_view key, Int& out,
                    std::int64_t min = std::numeric_limits<Int>::min(),
                    std::int64_t max = largest<Int>()) const {
    auto number = conf::read_integer(get(key), min, max, *diag_);
    if (number) out = static_cast<Int>(*number);
    return number.has_value();
  }

  template <class Enum>
  bool read_enum(std::string_view key, Enum& out, EnumNames<Enum> names) const {
    auto e = conf::read_enum(get(key), names, *diag_);
    if (e) out = *e;
    return e.has_value();
  }

 private:
  // The largest value of Int that an int64 holds too (size_t's does not).
  template <class Int>
  static constexpr std::int64_t largest() {
    constexpr auto max = std::numeric_limits<Int>::max();
    constexpr auto cap = std::numeric_limits<std::int64_t>::max();
    return static_cast<std::uint64_t>(max) > static_cast<std::uint64_t>(cap)
               ? cap
               : static_cast<std::int64_t>(max);
  }

  struct Entry {
    std::string key;
    SourceMark key_mark;
    YAML::Node value;
  };

  const Entry* find(std::string_view key) const;

  std::vector<Entry> entries_;
  SourceMark mark_;
  std::string label_;
  Diagnostics* diag_ = nullptr;
};

}  // namespace keygate::conf
