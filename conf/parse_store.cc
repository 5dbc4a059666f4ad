// cache and store: where key records come from and how long they are kept in memory.
#include <algorithm>
#include <string_view>

#include "conf/section_parsers.h"
#include "conf/text_checks.h"
#include "conf/yaml_map.h"

namespace keygate::conf {
namespace {

// "host:port" or "[v6]:port", port 1..65535: the form CLUSTER SLOTS and MOVED use too.
bool is_node_address(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

// A non-empty list of distinct host:port; `what` names one item in messages
// ("store redis cluster seed").
void read_node_list(const YamlValue& list, const std::string& what, std::vector<std::string>& out,
                    ParseContext& ctx) {
  std::vector<YamlValue> items = read_list(list, what, ctx.diag);
  if (items.empty() && list.node.IsSequence())
    ctx.diag.error(list.mark, what + "s must list at least one host:port");
  for (const YamlValue& item : items) {
    auto text = read_string(item, ctx.diag);
    if (!text) continue;
    if (!is_node_address(*text)) {
      ctx.diag.error(item.mark, what + " must be host:port, got '" + *text + "'");
      continue;
    }
    if (std::find(out.begin(), out.end(), *text) != out.end()) {
      ctx.diag.error(item.mark, what + " '" + *text + "' is listed twice");
      continue;
    }
    out.push_back(*text);
  }
}

void parse_cluster(const YamlValue& value, RedisConfig& redis, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"seeds"}, ctx.diag);
  if (!map || !map->require("seeds")) return;
  read_node_list(map->get("seeds"), "store redis cluster seed", redis.cluster_seeds, ctx);
}

void parse_sentinel(const YamlValue& value, RedisConfig& redis, ParseContext& ctx) {
  auto map = YamlMap::open(value, {"master_name", "sentinels"}, ctx.diag);
  if (!map) return;
  if (map->require("master_name") && map->read("master_name", redis.sentinel_master)) {
    // The name goes into SENTINEL commands and is matched against +switch-master messages,
    // which separate their fields with spaces.
    if (redis.sentinel_master.empty() ||
        redis.sentinel_master.find_first_of(" \t\r\n") != std::string::npos)
      ctx.diag.error(map->get("master_name").mark,
                     "store redis sentinel master_name must be a non-empty name without spaces");
  }
  if (map->require("sentinels"))
    read_node_list(map->get("sentinels"), "store redis sentinel", redis.sentinels, ctx);
}

// `topology` ("cluster", "sentinel") finds the servers itself: host and port would be ignored.
void refuse_host_and_port(const YamlMap& map, std::string_view topology, std::string_view source,
                          ParseContext& ctx) {
  for (std::string_view single : {"host", "port"}) {
    if (map.has(single))
      ctx.diag.error(map.get(single).mark, "store redis " + std::string(single) +
                                               " cannot be combined with " + std::string(topology) +
                                               " (" + std::string(source) + ")");
  }
}

void parse_redis(const YamlValue& value, RedisConfig& redis, ParseContext& ctx) {
  auto map = YamlMap::open(value,
                           {"host", "port", "password_env", "database", "command_timeout",
                            "limiter_timeout", "limiter_batch", "connect_timeout", "reconnect_min",
                            "reconnect_max", "key_prefix", "cluster", "sentinel", "tls"},
                           ctx.diag);
  if (!map) return;
  if (map->read("host", redis.host) && redis.host.empty())
    ctx.diag.error(map->get("host").mark, "store redis host must not be empty");
  map->read_integer("port", redis.port, 1);
  if (map->read("password_env", redis.password_env) && !redis.password_env.empty() &&
      !is_env_var_name(redis.password_env)) {
    ctx.diag.error(map->get("password_env").mark,
                   "store redis password_env must be an environment variable name, got '" +
                       redis.password_env + "'");
  }
  map->read_integer("database", redis.database, 0);
  map->read_duration("command_timeout", redis.command_timeout);
  map->read_duration("limiter_timeout", redis.limiter_timeout);
  map->read_integer("limiter_batch", redis.limiter_batch, 1, 1000);
  map->read_duration("connect_timeout", redis.connect_timeout);
  map->read_duration("reconnect_min", redis.reconnect_min);
  map->read_duration("reconnect_max", redis.reconnect_max);
  if (redis.reconnect_min > redis.reconnect_max) {
    ctx.diag.error(map->has("reconnect_min") ? map->get("reconnect_min").mark : map->mark(),
                   "store redis reconnect_min must not exceed reconnect_max");
  }
  map->read("key_prefix", redis.key_prefix);
  if (map->has("cluster")) {
    parse_cluster(map->get("cluster"), redis, ctx);
    // A cluster is found through its seeds, and Redis Cluster has only database 0.
    refuse_host_and_port(*map, "cluster", "the nodes come from cluster seeds", ctx);
    if (map->has("database"))
      ctx.diag.error(map->get("database").mark,
                     "store redis database cannot be combined with cluster (Redis Cluster has "
                     "only database 0)");
  }
  if (map->has("sentinel")) {
    if (map->has("cluster")) {
      ctx.diag.error(map->get("sentinel").mark,
                     "store redis sentinel cannot be combined with cluster (a cluster fails over "
                     "by itself; choose one)");
    } else {
      parse_sentinel(map->get("sentinel"), redis, ctx);
      refuse_host_and_port(*map, "sentinel", "the master's address comes from the sentinels", ctx);
    }
  }
  parse_redis_tls(map->get("tls"), ctx);
}

}  // namespace

void parse_cache(const YamlValue& value, ParseContext& ctx) {
  auto map = YamlMap::open(
      value, {"positive_ttl", "negative_ttl", "max_entries", "max_negative_entries", "stale_grace"},
      ctx.diag);
  if (!map) return;
  CacheConfig& cache = ctx.config.cache;
  // 0 is meaningful for all of these: do not cache / no grace.
  map->read_duration("positive_ttl", cache.positive_ttl, ZeroDuration::allowed);
  map->read_duration("negative_ttl", cache.negative_ttl, ZeroDuration::allowed);
  map->read_integer("max_entries", cache.max_entries);
  map->read_integer("max_negative_entries", cache.max_negative_entries);
  map->read_duration("stale_grace", cache.stale_grace, ZeroDuration::allowed);
}

void parse_store(const YamlValue& value, ParseContext& ctx) {
  ctx.store_mark = value.mark;
  auto map = YamlMap::open(value, {"kind", "file", "redis"}, ctx.diag);
  if (!map) return;
  StoreConfig& store = ctx.config.store;
  const bool kind_ok = map->read_enum<StoreConfig::Kind>("kind", store.kind,
                                                         {{"file", StoreConfig::Kind::file},
                                                          {"redis", StoreConfig::Kind::redis}}) ||
                       !map->has("kind");
  map->read("file", store.file_path);
  if (map->has("redis")) {
    parse_redis(map->get("redis"), store.redis, ctx);
    store.redis_enabled = true;
  }
  if (!kind_ok) return;
  if (store.kind == StoreConfig::Kind::redis) {
    store.redis_enabled = true;
    if (map->has("file"))
      ctx.diag.error(map->get("file").mark, "store file is only used with kind: file");
  } else if (store.file_path.empty() && !map->has("file")) {
    ctx.diag.error(map->mark(), "store kind 'file' needs 'file': the path of the key records file");
  } else if (store.file_path.empty()) {
    ctx.diag.error(map->get("file").mark, "store file must not be empty");
  }
}

}  // namespace keygate::conf
