#include "conf/yaml_value.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <limits>

#include "conf/units.h"

namespace keygate::conf {
namespace {

// A scalar, or an error naming what was found instead.
std::optional<std::string> scalar(const YamlValue& value, std::string_view expected,
                                  Diagnostics& diag) {
  if (!value.present()) return std::nullopt;
  if (!value.node.IsScalar()) {
    diag.error(value.mark,
               value.label + " must be " + std::string(expected) + ", got " + describe(value.node));
    return std::nullopt;
  }
  return value.node.Scalar();
}

}  // namespace

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

std::optional<std::string> read_string(const YamlValue& value, Diagnostics& diag) {
  return scalar(value, "a string", diag);
}

std::optional<bool> read_bool(const YamlValue& value, Diagnostics& diag) {
  auto text = scalar(value, "true or false", diag);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  diag.error(value.mark, value.label + " must be true or false, got '" + *text + "'");
  return std::nullopt;
}

std::optional<std::int64_t> read_integer(const YamlValue& value, std::int64_t min, std::int64_t max,
                                         Diagnostics& diag) {
  auto text = scalar(value, "a whole number", diag);
  if (!text) return std::nullopt;
  std::int64_t number = 0;
  const char* end = text->data() + text->size();
  auto [stop, ec] = std::from_chars(text->data(), end, number);
  const bool whole = !text->empty() && stop == end;
  if (ec == std::errc::invalid_argument || (ec == std::errc() && !whole)) {
    diag.error(value.mark, value.label + " must be a whole number, got '" + *text + "'");
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || number < min || number > max) {
    std::string range = max == std::numeric_limits<std::int64_t>::max()
                            ? "at least " + std::to_string(min)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    diag.error(value.mark, value.label + " must be " + range + ", got " + *text);
    return std::nullopt;
  }
  return number;
}

std::optional<Duration> read_duration(const YamlValue& value, ZeroDuration zero,
                                      Diagnostics& diag) {
  auto text = scalar(value, "a duration such as 2s", diag);
  if (!text) return std::nullopt;
  auto parsed = parse_duration(*text);
  if (!parsed.value) {
    diag.error(value.mark, value.label + ": " + parsed.error);
    return std::nullopt;
  }
  if (zero == ZeroDuration::rejected && parsed.value->count() == 0) {
    diag.error(value.mark, value.label + " must be longer than 0");
    return std::nullopt;
  }
  return parsed.value;
}

std::optional<std::uint64_t> read_size(const YamlValue& value, Diagnostics& diag) {
  auto text = scalar(value, "a size such as 16KiB", diag);
  if (!text) return std::nullopt;
  auto parsed = parse_size(*text);
  if (!parsed.value) diag.error(value.mark, value.label + ": " + parsed.error);
  return parsed.value;
}

std::vector<YamlValue> read_list(const YamlValue& value, const std::string& item_label,
                                 Diagnostics& diag) {
  std::vector<YamlValue> items;
  if (!value.present()) return items;
  if (!value.node.IsSequence()) {
    diag.error(value.mark, value.label + " must be a list, got " + describe(value.node));
    return items;
  }
  for (const YAML::Node& item : value.node) {
    // An empty item ("- ") has no useful mark of its own; the list's is the nearest.
    SourceMark mark = item.IsNull() ? value.mark : to_source_mark(item.Mark());
    items.push_back({item, mark, item_label});
  }
  return items;
}

std::optional<std::vector<std::string>> read_string_list(const YamlValue& value,
                                                         Diagnostics& diag) {
  if (!value.present()) return std::nullopt;
  if (!value.node.IsSequence()) {
    diag.error(value.mark, value.label + " must be a list, got " + describe(value.node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool all_good = true;
  for (const YamlValue& item : read_list(value, value.label + " item", diag)) {
    auto text = read_string(item, diag);
    if (!text) {
      all_good = false;
      continue;
    }
    out.push_back(*text);
  }
  if (!all_good) return std::nullopt;
  return out;
}

}  // namespace keygate::conf
