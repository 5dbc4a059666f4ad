// Typed reads of YAML values, each reporting a precise error instead of throwing.
//
// Every reader returns std::nullopt both when the value is absent and when it is bad; in the
// second case it has already reported why, with the value's position.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.h"
#include "conf/diagnostics.h"
#include "conf/suggest.h"

namespace keygate::conf {

// A value in the document, where it was found and what messages call it ("admin port").
struct YamlValue {
  YAML::Node node;  // undefined when the key is absent
  SourceMark mark;  // the value, or its key when the value is empty
  std::string label;

  bool present() const { return node.IsDefined(); }
};

// How a node is shown in messages: "a map", "a list", "'abc'", "nothing".
std::string describe(const YAML::Node& node);

std::optional<std::string> read_string(const YamlValue& value, Diagnostics& diag);
std::optional<bool> read_bool(const YamlValue& value, Diagnostics& diag);
std::optional<std::int64_t> read_integer(const YamlValue& value, std::int64_t min, std::int64_t max,
                                         Diagnostics& diag);

enum class ZeroDuration { allowed, rejected };
std::optional<Duration> read_duration(const YamlValue& value, ZeroDuration zero, Diagnostics& diag);
std::optional<std::uint64_t> read_size(const YamlValue& value, Diagnostics& diag);

// The items of a list, labelled `item_label`; empty when absent or not a list.
std::vector<YamlValue> read_list(const YamlValue& value, const std::string& item_label,
                                 Diagnostics& diag);
std::optional<std::vector<std::string>> read_string_list(const YamlValue& value, Diagnostics& diag);

template <class Enum>
using EnumNames = std::initializer_list<std::pair<std::string_view, Enum>>;

// One of a fixed set of words, e.g. fail_open | fail_closed | local.
template <class Enum>
std::optional<Enum> read_enum(const YamlValue& value, EnumNames<Enum> names, Diagnostics& diag) {
  auto text = read_string(value, diag);
  if (!text) return std::nullopt;
  std::vector<std::string_view> words;
  for (const auto& [word, e] : names) {
    if (word == *text) return e;
    words.push_back(word);
  }
  std::string expected;
  for (std::size_t i = 0; i < words.size(); ++i)
    expected += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + std::string(words[i]);
  diag.error(value.mark, value.label + " must be " + expected + ", got '" + *text + "'" +
                             did_you_mean(*text, words));
  return std::nullopt;
}

}  // namespace keygate::conf
