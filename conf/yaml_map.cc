#include "conf/yaml_map.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace keygate::conf {

std::optional<YamlMap> YamlMap::open(const YamlValue& value, std::vector<std::string_view> keys,
                                     Diagnostics& diag) {
  YamlMap map;
  map.mark_ = value.mark;
  map.label_ = value.label;
  map.diag_ = &diag;
  if (!value.present() || value.node.IsNull()) return map;
  if (!value.node.IsMap()) {
    diag.error(value.mark, (value.label.empty() ? "the configuration" : value.label) +
                               " must be a map, got " + describe(value.node));
    return std::nullopt;
  }
  const std::string where = value.label.empty() ? "at the top level" : "in " + value.label;
  for (const auto& pair : value.node) {
    const YAML::Node key_node = pair.first;
    const SourceMark key_mark = to_source_mark(key_node.Mark());
    if (!key_node.IsScalar()) {
      diag.error(key_mark, "keys " + where + " must be plain words, got " + describe(key_node));
      continue;
    }
    const std::string& key = key_node.Scalar();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      diag.error(key_mark, "unknown key '" + key + "' " + where + did_you_mean(key, keys));
      continue;
    }
    // yaml-cpp keeps both copies of a repeated key and lookups see the first: the second
    // would be silently ignored, so it is an error.
    if (const Entry* first = map.find(key)) {
      diag.error(key_mark, "key '" + key + "' appears twice " + where + " (first at line " +
                               std::to_string(first->key_mark.line) + ")");
      continue;
    }
    map.entries_.push_back({key, key_mark, pair.second});
  }
  return map;
}

const YamlMap::Entry* YamlMap::find(std::string_view key) const {
  for (const Entry& entry : entries_)
    if (entry.key == key) return &entry;
  return nullptr;
}

YamlValue YamlMap::get(std::string_view key) const {
  std::string label = label_.empty() ? std::string(key) : label_ + " " + std::string(key);
  const Entry* entry = find(key);
  if (!entry) return {YAML::Node(YAML::NodeType::Undefined), mark_, std::move(label)};
  // An empty value's own mark points past it, at the next line; its key is where to look.
  SourceMark mark = entry->value.IsNull() ? entry->key_mark : to_source_mark(entry->value.Mark());
  return {entry->value, mark, std::move(label)};
}

bool YamlMap::require(std::string_view key) const {
  if (has(key)) return true;
  diag_->error(
      mark_, (label_.empty() ? "the configuration" : label_) + " needs '" + std::string(key) + "'");
  return false;
}

bool YamlMap::read(std::string_view key, std::string& out) const {
  auto value = read_string(get(key), *diag_);
  if (value) out = std::move(*value);
  return value.has_value();
}

bool YamlMap::read(std::string_view key, bool& out) const {
  auto value = read_bool(get(key), *diag_);
  if (value) out = *value;
  return value.has_value();
}

bool YamlMap::read(std::string_view key, std::vector<std::string>& out) const {
  auto value = read_string_list(get(key), *diag_);
  if (value) out = std::move(*value);
  return value.has_value();
}

bool YamlMap::read_duration(std::string_view key, Duration& out, ZeroDuration zero) const {
  auto value = conf::read_duration(get(key), zero, *diag_);
  if (value) out = *value;
  return value.has_value();
}

bool YamlMap::read_size(std::string_view key, std::size_t& out) const {
  auto value = conf::read_size(get(key), *diag_);
  if (value) out = static_cast<std::size_t>(*value);
  return value.has_value();
}

}  // namespace keygate::conf
