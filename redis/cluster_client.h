// A Client for Redis Cluster: one pipelined connection per node, commands routed by their key's
// slot (internal to redis/; make_client() returns one when store.redis.cluster is configured).
//
// The slot map comes from CLUSTER SLOTS, asked of any connected node, at start, every second,
// after a MOVED and after a node's connection fails. A MOVED reply updates the slot's owner and
// the command is retried once there; an ASK reply is retried once on the importing node behind
// a one-off ASKING; a TRYAGAIN (the keys of a multi-key command or script split by a migration
// in progress) is retried after 2 ms. Retries stay within the command's original deadline, so
// a caller still gets exactly one reply per command. Commands that name no key (PING, PUBLISH:
// classic pub/sub reaches every node of a cluster) go to any connected master; SCRIPT commands go
// to every master, so that Script's reload after a NOSCRIPT reaches the node that answered it,
// pipelined ahead of the retried EVALSHA on that node's connection.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "redis/redis_client.h"

namespace keygate::redis {

struct NodeAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

// "host:port" (an IPv6 host in brackets: "[::1]:7000"); nullopt when malformed.
std::optional<NodeAddress> parse_node_address(std::string_view text);

// A MOVED or ASK error reply: "MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  NodeAddress target;
};
std::optional<Redirect> parse_redirect(const Result& result);

// SCRIPT LOAD / FLUSH / EXISTS: sent to every master of a cluster.
bool is_script_command(std::span<const std::string_view> args);

std::shared_ptr<Client> make_cluster_client(boost::asio::any_io_executor executor,
                                            const conf::RedisConfig& config,
                                            const ClientOptions& options);

// For tests and /metrics: how the cluster client got its answers.
struct ClusterStats {
  std::uint64_t moved = 0;          // MOVED replies followed
  std::uint64_t ask = 0;            // ASK replies followed
  std::uint64_t tryagain = 0;       // TRYAGAIN replies retried (keys split by a migration)
  std::uint64_t map_refreshes = 0;  // CLUSTER SLOTS answers applied
  std::size_t nodes = 0;            // connections held (masters of the map, seeds)
};
// Zeroes when `client` is not a cluster client.
ClusterStats cluster_stats(const Client& client);

}  // namespace keygate::redis
