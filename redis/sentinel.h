// Redis Sentinel (internal to redis/): what the sentinels say and how keygate checks it.
//
// With store.redis.sentinel every connection to "Redis" is a connection to the current master:
// its address is asked of the sentinels (SENTINEL get-master-addr-by-name) before each attempt,
// the server is asked ROLE before it is used (a sentinel's answer can be stale: a demoted master
// still accepts connections), and +switch-master announcements move connections at once
// (redis/sentinel_watch.h for the async side, ask_sentinels() for the blocking one).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "redis/cluster_client.h"
#include "redis/reply.h"

namespace keygate::redis {

inline constexpr std::string_view kSwitchMasterChannel = "+switch-master";

// The answer to SENTINEL get-master-addr-by-name: ["ip", "port"]; nullopt for anything else
// (a nil reply means the sentinel does not monitor that name).
std::optional<NodeAddress> parse_master_address(const Reply& reply);

// The answer to ROLE: true when its first element is "master".
bool is_master_role(const Reply& reply);
// "master", "slave", "sentinel", or "unknown": for error messages.
std::string role_name(const Reply& reply);

// A +switch-master payload, "<name> <old-ip> <old-port> <new-ip> <new-port>": the new address
// when it is about `master_name`, nullopt otherwise.
std::optional<NodeAddress> parse_switch_master(std::string_view payload,
                                               std::string_view master_name);

// The configuration of a connection to one sentinel (or to any of them, tried in turn through
// cluster_seeds, as AsyncConnection does for seeds): no AUTH, no SELECT, no sentinel of its own.
conf::RedisConfig sentinel_connection_config(const conf::RedisConfig& config);

// Blocking: asks each sentinel in turn (connect_timeout to connect, command_timeout to answer)
// until one names the master. Fills `error` with every sentinel's failure otherwise.
std::optional<NodeAddress> ask_sentinels(const conf::RedisConfig& config, std::string* error);

}  // namespace keygate::redis
