#include "redis/redis_client.h"

namespace keygate::redis {

std::string describe_server(const conf::RedisConfig& config) {
  if (!config.cluster_seeds.empty()) return "redis cluster";
  if (!config.sentinels.empty()) return "redis sentinel master '" + config.sentinel_master + "'";
  return "redis " + config.host + ":" + std::to_string(config.port);
}

}  // namespace keygate::redis
