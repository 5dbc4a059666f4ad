// A real Redis Cluster for tests: N masters (and optionally one replica each) of redis-server
// with `cluster-enabled yes` on free loopback ports, slots split evenly, joined with CLUSTER
// MEET and waited for until every node reports cluster_state:ok and agrees on the slot map.
//
// Built from RedisServer, so the same rules hold: a missing binary or a cluster that does not
// form within 20 s throws std::runtime_error (a test failure, never a skip), and the servers die
// with the constructing thread. Slot migration is offered in the two halves the tests need: the
// slot left MIGRATING/IMPORTING (ASK territory) and the handover completed (MOVED territory).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_server.h"

namespace keygate::testing {

class RedisCluster {
 public:
  struct Options {
    int masters = 3;
    bool replicas = false;       // one replica per master
    int node_timeout_ms = 1000;  // cluster-node-timeout: how fast a dead master is failed over
  };

  RedisCluster();
  explicit RedisCluster(Options options);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // "127.0.0.1:port" of every master, for store.redis.cluster.seeds.
  std::vector<std::string> seeds() const;
  int masters() const { return options_.masters; }
  RedisServer& master(int index) { return *nodes_[index]; }
  // The replica of master `index` (Options::replicas only).
  RedisServer& replica(int index) { return *nodes_[options_.masters + index]; }

  // Index (into masters) of the node that currently serves `slot`, asked of a live node.
  int owner_of(std::uint16_t slot) const;
  // Marks `slot` MIGRATING on `from` and IMPORTING on `to`, and moves its keys with MIGRATE;
  // the slot still belongs to `from`, so clients are sent ASK for the moved keys.
  void begin_migration(std::uint16_t slot, int from, int to);
  // Hands `slot` to `to` on every master (CLUSTER SETSLOT NODE): clients get MOVED.
  void finish_migration(std::uint16_t slot, int to);
  // Both halves, and the keys of the slot moved.
  void migrate(std::uint16_t slot, int from, int to);
  // Waits until every running node reports cluster_state:ok and the same owner for every slot.
  void wait_until_stable(int timeout_ms = 20000) const;

  std::string node_id(const RedisServer& server) const;

 private:
  void form();
  bool agree() const;

  Options options_;
  std::vector<std::uint16_t> bus_ports_;             // cluster-port of each node
  std::vector<std::unique_ptr<RedisServer>> nodes_;  // masters first, then replicas
};

}  // namespace keygate::testing
