// A real Sentinel-managed Redis for tests: one master, one replica and three sentinels
// (`redis-server --sentinel`), all on free loopback ports, with short failure detection so a
// failover takes a few seconds. The constructor returns once the replica is in sync and every
// sentinel knows the replica and the other sentinels, i.e. once a failover can happen.
//
// Built from RedisServer, so the same rules hold: a missing binary or a group that does not form
// within 20 s throws std::runtime_error (a test failure, never a skip), and the servers die with
// the constructing thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_server.h"

namespace keygate::testing {

class RedisSentinelGroup {
 public:
  struct Options {
    std::string master_name = "mymaster";
    int sentinels = 3;
    int down_after_ms = 1000;        // sentinel down-after-milliseconds
    int failover_timeout_ms = 3000;  // sentinel failover-timeout
  };

  RedisSentinelGroup();
  explicit RedisSentinelGroup(Options options);
  ~RedisSentinelGroup();
  RedisSentinelGroup(const RedisSentinelGroup&) = delete;
  RedisSentinelGroup& operator=(const RedisSentinelGroup&) = delete;

  const std::string& master_name() const { return options_.master_name; }
  // "127.0.0.1:port" of every sentinel, for store.redis.sentinel.sentinels.
  std::vector<std::string> sentinel_addresses() const;
  // 0 is the first master, 1 its replica.
  RedisServer& server(int index) { return *servers_[index]; }
  RedisServer& sentinel(int index) { return *sentinels_[index]; }

  // Index of the server that the first running sentinel names master; -1 if none answers.
  int named_master() const;
  // Polls until every running sentinel names `index` master and that server's ROLE says
  // master; false after `timeout_ms`.
  bool wait_for_master(int index, int timeout_ms) const;

 private:
  void wait_until_ready(int timeout_ms) const;

  Options options_;
  std::vector<std::unique_ptr<RedisServer>> servers_;  // master, replica
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

}  // namespace keygate::testing
