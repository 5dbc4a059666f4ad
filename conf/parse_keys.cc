// keys: environments, key types, prefixes, hashing and plans.
#include <limits>
#include <set>

#include "conf/config_defaults.h"
#include "conf/section_parsers.h"
#include "conf/text_checks.h"
#include "conf/yaml_map.h"

namespace keygate::conf {
namespace {

// environments / types: lower-case words, since they become part of generated prefixes.
void parse_word_list(const YamlMap& keys, std::string_view key, NameKind kind,
                     std::vector<std::string>& out, ParseContext& ctx) {
  const YamlValue value = keys.get(key);
  std::vector<std::string> words;
  if (value.present() && keys.read(key, words)) {
    if (words.empty()) ctx.diag.error(value.mark, value.label + " must not be empty");
    // Only valid, first occurrences are kept, so one mistake is reported once and not
    // again through every prefix generated from it.
    out.clear();
    std::size_t index = 0;
    for (const YamlValue& item : read_list(value, value.label, ctx.diag)) {
      const std::string& word = words[index++];
      if (!is_lower_word(word)) {
        ctx.diag.error(item.mark, value.label + ": '" + word +
                                      "' must be lower-case letters and digits, words joined "
                                      "by '_'");
        continue;
      }
      if (ctx.names.define(kind, word, item.mark, ctx.diag)) out.push_back(word);
    }
    return;
  }
  for (const std::string& word : out) ctx.names.define(kind, word, {}, ctx.diag);
}

// A positive whole number, or "unlimited" (which is what absent means too).
std::optional<std::uint64_t> read_count_or_unlimited(const YamlValue& value, Diagnostics& diag) {
  if (!value.present()) return std::nullopt;
  if (value.node.IsScalar() && value.node.Scalar() == "unlimited") return std::nullopt;
  auto number = read_integer(value, 1, std::numeric_limits<std::int64_t>::max(), diag);
  if (!number) return std::nullopt;
  return static_cast<std::uint64_t>(*number);
}

void parse_plan(const YamlValue& item, ParseContext& ctx) {
  auto map = YamlMap::open(item, {"name", "max_keys", "monthly_quota", "rate_limits"}, ctx.diag);
  if (!map) return;
  PlanConfig plan;
  if (map->require("name") && map->read("name", plan.name)) {
    if (plan.name.empty()) ctx.diag.error(map->get("name").mark, "plan name must not be empty");
    ctx.names.define(NameKind::plan, plan.name, map->get("name").mark, ctx.diag);
  }
  if (auto max_keys = read_count_or_unlimited(map->get("max_keys"), ctx.diag))
    plan.max_keys = static_cast<std::size_t>(*max_keys);
  plan.monthly_quota = read_count_or_unlimited(map->get("monthly_quota"), ctx.diag);
  read_names(map->get("rate_limits"), NameKind::policy, "plan '" + plan.name + "'",
             plan.rate_limits, ctx);
  ctx.config.keys.plans.push_back(std::move(plan));
}

void parse_prefix(const YamlValue& item, std::set<std::pair<std::string, std::string>>& seen,
                  ParseContext& ctx) {
  auto map = YamlMap::open(item, {"environment", "type", "prefix"}, ctx.diag);
  if (!map) return;
  KeyPrefixConfig prefix;
  const std::string user = "key prefix";
  if (map->require("environment") && map->read("environment", prefix.environment))
    ctx.names.refer(NameKind::environment, prefix.environment, map->get("environment").mark, user);
  if (map->require("type") && map->read("type", prefix.type))
    ctx.names.refer(NameKind::key_type, prefix.type, map->get("type").mark, user);
  if (map->require("prefix") && map->read("prefix", prefix.prefix) &&
      !is_key_prefix(prefix.prefix)) {
    ctx.diag.error(map->get("prefix").mark,
                   "key prefix '" + prefix.prefix +
                       "' must be lower-case letters and digits in words joined by '_' and "
                       "ending in '_', like sk_live_");
  }
  if (!prefix.environment.empty() && !prefix.type.empty() &&
      !seen.emplace(prefix.environment, prefix.type).second) {
    ctx.diag.error(item.mark, "environment '" + prefix.environment + "' and type '" + prefix.type +
                                  "' already have a key prefix");
  }
  ctx.prefix_marks.push_back(map->has("prefix") ? map->get("prefix").mark : item.mark);
  ctx.config.keys.prefixes.push_back(std::move(prefix));
}

void parse_type_rate_limits(const YamlValue& value, ParseContext& ctx) {
  if (!value.present() || value.node.IsNull()) return;
  if (!value.node.IsMap()) {
    ctx.diag.error(value.mark, value.label + " must be a map of key type to policy names, got " +
                                   describe(value.node));
    return;
  }
  auto& out = ctx.config.keys.type_rate_limits;
  for (const auto& pair : value.node) {
    const YAML::Node type_node = pair.first;
    const YAML::Node policies_node = pair.second;
    const SourceMark key_mark = to_source_mark(type_node.Mark());
    if (!type_node.IsScalar()) {
      ctx.diag.error(key_mark, value.label + " keys must be key type names");
      continue;
    }
    const std::string type = type_node.Scalar();
    if (out.count(type) > 0) {
      ctx.diag.error(key_mark, value.label + " names type '" + type + "' twice");
      continue;
    }
    ctx.names.refer(NameKind::key_type, type, key_mark, value.label);
    SourceMark mark = policies_node.IsNull() ? key_mark : to_source_mark(policies_node.Mark());
    YamlValue policies{policies_node, mark, value.label + " " + type};
    read_names(policies, NameKind::policy, value.label + " " + type, out[type], ctx);
  }
}

void parse_hash(const YamlMap& map, KeysConfig& keys, ParseContext& ctx) {
  map.read_enum<KeysConfig::Hash>(
      "hash", keys.hash,
      {{"sha256", KeysConfig::Hash::sha256}, {"hmac-sha256", KeysConfig::Hash::hmac_sha256}});
  if (map.read("pepper_env", keys.pepper_env) && !is_env_var_name(keys.pepper_env)) {
    ctx.diag.error(
        map.get("pepper_env").mark,
        "keys pepper_env must be an environment variable name, got '" + keys.pepper_env + "'");
  }
  map.read("pepper_file", keys.pepper_file);
  const bool has_pepper = !keys.pepper_env.empty() || !keys.pepper_file.empty();
  const SourceMark where = map.has("hash") ? map.get("hash").mark : map.mark();
  if (keys.hash == KeysConfig::Hash::hmac_sha256 && !has_pepper) {
    ctx.diag.error(where, "keys hash hmac-sha256 needs a pepper: set pepper_env or pepper_file");
  } else if (keys.hash == KeysConfig::Hash::sha256 && has_pepper) {
    // A pepper that is silently unused gives a false sense of protection.
    ctx.diag.error(where, "keys pepper_env / pepper_file are only used with hash: hmac-sha256");
  }
}

}  // namespace

void parse_keys(const YamlValue& value, ParseContext& ctx) {
  KeysConfig& keys = ctx.config.keys;
  ctx.keys_mark = value.mark;
  auto map =
      YamlMap::open(value,
                    {"environments", "types", "prefixes", "secret_types", "hash", "pepper_env",
                     "pepper_file", "plans", "default_plan", "type_rate_limits"},
                    ctx.diag);
  if (!map) map = YamlMap::open({}, {}, ctx.diag);  // still define the default names

  parse_word_list(*map, "environments", NameKind::environment, keys.environments, ctx);
  parse_word_list(*map, "types", NameKind::key_type, keys.types, ctx);
  if (map->has("types")) ctx.keys_mark = map->get("types").mark;

  std::set<std::pair<std::string, std::string>> seen_prefixes;
  for (const YamlValue& item : read_list(map->get("prefixes"), "key prefix", ctx.diag))
    parse_prefix(item, seen_prefixes, ctx);
  if (keys.prefixes.empty()) {
    keys.prefixes = default_prefixes(keys.environments, keys.types);
    ctx.prefix_marks.assign(keys.prefixes.size(), ctx.keys_mark);
    ctx.prefixes_generated = true;
  }

  read_names(map->get("secret_types"), NameKind::key_type, "keys secret_types", keys.secret_types,
             ctx);
  parse_hash(*map, keys, ctx);

  for (const YamlValue& item : read_list(map->get("plans"), "plan", ctx.diag))
    parse_plan(item, ctx);
  // No plans is a valid choice (no key maximum, no quota), so nothing is filled in; with
  // plans, which one an implicitly created org gets is said explicitly, not guessed.
  if (map->read("default_plan", keys.default_plan)) {
    ctx.names.refer(NameKind::plan, keys.default_plan, map->get("default_plan").mark,
                    "keys default_plan");
  } else if (!keys.plans.empty()) {
    std::string names;
    for (const PlanConfig& plan : keys.plans) names += (names.empty() ? "" : ", ") + plan.name;
    ctx.diag.error(map->has("plans") ? map->get("plans").mark : map->mark(),
                   "keys default_plan is required with plans: name the plan orgs get when "
                   "their first key creates them (one of " +
                       names + ")");
  }

  parse_type_rate_limits(map->get("type_rate_limits"), ctx);
}

}  // namespace keygate::conf
