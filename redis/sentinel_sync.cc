// ask_sentinels(): the blocking client's way to the master (CLI, admin API, usage flushes).
#include "redis/sentinel.h"
#include "redis/sync_client.h"

namespace keygate::redis {

std::optional<NodeAddress> ask_sentinels(const conf::RedisConfig& config, std::string* error) {
  conf::RedisConfig one = sentinel_connection_config(config);
  one.cluster_seeds.clear();
  std::string failures;
  for (const std::string& sentinel : config.sentinels) {
    auto address = parse_node_address(sentinel);
    if (!address) continue;
    one.host = address->host;
    one.port = address->port;
    std::string why;
    auto client = connect_sync(one, &why);
    if (client) {
      Result answer =
          client->command({"SENTINEL", "get-master-addr-by-name", config.sentinel_master});
      if (answer.status != Status::ok) {
        why = client->last_error();
      } else if (auto master = parse_master_address(answer.reply)) {
        return master;
      } else {
        why = answer.reply.is_error()
                  ? answer.reply.str
                  : "does not know a master named '" + config.sentinel_master + "'";
      }
    }
    failures += (failures.empty() ? "" : "; ") + std::string("sentinel ") + sentinel + ": " + why;
  }
  if (error) *error = "no sentinel named the master: " + failures;
  return std::nullopt;
}

}  // namespace keygate::redis
