#include "tests/support/redis_cluster.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "tests/support/free_port.h"

namespace keygate::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string text_of(const redis::Reply& reply) {
  return reply.str;
}

void require_ok(const redis::Reply& reply, const std::string& what) {
  if (reply.is_error()) throw std::runtime_error(what + ": " + reply.str);
}

// Polls `done` every few milliseconds until it holds or `timeout_ms` passed.
template <class Done>
bool poll(Done done, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

RedisCluster::RedisCluster() : RedisCluster(Options{}) {}

RedisCluster::RedisCluster(Options options) : options_(options) {
  const int total = options_.masters * (options_.replicas ? 2 : 1);
  for (int i = 0; i < total; ++i) {
    bus_ports_.push_back(pick_free_port());
    RedisServer::Options server;
    server.extra_args = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                         "--cluster-node-timeout", std::to_string(options_.node_timeout_ms),
                         "--cluster-port", std::to_string(bus_ports_.back()),
                         // A replica takes over at once, whatever its replication offset.
                         "--cluster-replica-validity-factor", "0",
                         // Slots of healthy masters keep answering while one master is down.
                         "--cluster-require-full-coverage", "no"};
    nodes_.push_back(std::make_unique<RedisServer>(server));
  }
  form();
}

RedisCluster::~RedisCluster() = default;

std::vector<std::string> RedisCluster::seeds() const {
  std::vector<std::string> out;
  for (int i = 0; i < options_.masters; ++i)
    out.push_back("127.0.0.1:" + std::to_string(nodes_[i]->port()));
  return out;
}

std::string RedisCluster::node_id(const RedisServer& server) const {
  redis::Reply id = server.command({"CLUSTER", "MYID"});
  require_ok(id, "CLUSTER MYID");
  return id.str;
}

void RedisCluster::form() {
  const int n = options_.masters;
  for (int i = 0; i < n; ++i) {
    std::string first = std::to_string(i * 16384 / n);
    std::string last = std::to_string((i + 1) * 16384 / n - 1);
    require_ok(nodes_[i]->command({"CLUSTER", "ADDSLOTSRANGE", first, last}), "ADDSLOTSRANGE");
  }
  for (std::size_t i = 1; i < nodes_.size(); ++i) {
    std::string port = std::to_string(nodes_[i]->port());
    std::string bus = std::to_string(bus_ports_[i]);
    require_ok(nodes_[0]->command({"CLUSTER", "MEET", "127.0.0.1", port, bus}), "CLUSTER MEET");
  }
  const std::string known = "cluster_known_nodes:" + std::to_string(nodes_.size());
  bool met = poll(
      [&] {
        for (auto& node : nodes_)
          if (text_of(node->command({"CLUSTER", "INFO"})).find(known) == std::string::npos)
            return false;
        return true;
      },
      20000);
  if (!met) throw std::runtime_error("cluster nodes did not meet within 20 s");
  if (options_.replicas) {
    for (int i = 0; i < n; ++i) {
      std::string master = node_id(*nodes_[i]);
      bool done = poll(
          [&] {
            return !replica(i).command({"CLUSTER", "REPLICATE", master}).is_error();
          },
          20000);
      if (!done)
        throw std::runtime_error("CLUSTER REPLICATE failed for replica " + std::to_string(i));
    }
    bool synced = poll(
        [&] {
          for (int i = 0; i < n; ++i)
            // state=online: the initial sync is over and writes stream to the replica.
            if (text_of(master(i).command({"INFO", "replication"})).find("state=online") ==
                std::string::npos)
              return false;
          return true;
        },
        20000);
    if (!synced) throw std::runtime_error("replicas did not connect within 20 s");
  }
  wait_until_stable();
}

bool RedisCluster::agree() const {
  std::string reference;
  for (auto& node : nodes_) {
    if (!node->running()) continue;
    if (text_of(node->command({"CLUSTER", "INFO"})).find("cluster_state:ok") == std::string::npos)
      return false;
    // One owner per slot range: compare (first, last, port) triples.
    redis::Reply slots = node->command({"CLUSTER", "SLOTS"});
    if (slots.type != redis::Reply::Type::array) return false;
    std::vector<std::string> ranges;
    for (auto& range : slots.elements) {
      if (range.elements.size() < 3) return false;
      ranges.push_back(std::to_string(range.elements[0].integer) + "-" +
                       std::to_string(range.elements[1].integer) + "@" +
                       std::to_string(range.elements[2].elements[1].integer));
    }
    std::sort(ranges.begin(), ranges.end());
    std::string joined;
    for (auto& r : ranges) joined += r + ",";
    if (reference.empty())
      reference = joined;
    else if (joined != reference)
      return false;
  }
  return !reference.empty();
}

void RedisCluster::wait_until_stable(int timeout_ms) const {
  if (!poll([&] { return agree(); }, timeout_ms))
    throw std::runtime_error("cluster did not agree on cluster_state:ok and one slot map within " +
                             std::to_string(timeout_ms) + " ms");
}

int RedisCluster::owner_of(std::uint16_t slot) const {
  for (auto& node : nodes_) {
    if (!node->running()) continue;
    redis::Reply slots = node->command({"CLUSTER", "SLOTS"});
    for (auto& range : slots.elements) {
      if (range.elements.size() < 3) continue;
      if (slot < range.elements[0].integer || slot > range.elements[1].integer) continue;
      auto port = range.elements[2].elements[1].integer;
      for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i]->port() == port) return static_cast<int>(i);
    }
  }
  return -1;
}

void RedisCluster::begin_migration(std::uint16_t slot, int from, int to) {
  std::string s = std::to_string(slot);
  require_ok(nodes_[to]->command({"CLUSTER", "SETSLOT", s, "IMPORTING", node_id(*nodes_[from])}),
             "SETSLOT IMPORTING");
  require_ok(nodes_[from]->command({"CLUSTER", "SETSLOT", s, "MIGRATING", node_id(*nodes_[to])}),
             "SETSLOT MIGRATING");
  std::string port = std::to_string(nodes_[to]->port());
  for (;;) {
    redis::Reply keys = nodes_[from]->command({"CLUSTER", "GETKEYSINSLOT", s, "100"});
    require_ok(keys, "GETKEYSINSLOT");
    if (keys.elements.empty()) break;
    std::vector<std::string_view> args = {"MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS"};
    for (auto& key : keys.elements) args.push_back(key.str);
    require_ok(nodes_[from]->command(std::span<const std::string_view>(args)), "MIGRATE");
  }
}

void RedisCluster::finish_migration(std::uint16_t slot, int to) {
  std::string s = std::to_string(slot);
  std::string id = node_id(*nodes_[to]);
  // The importing node first, as redis-cli does, so the slot is never left without an owner.
  require_ok(nodes_[to]->command({"CLUSTER", "SETSLOT", s, "NODE", id}), "SETSLOT NODE");
  for (auto& node : nodes_)
    if (node->running() && node.get() != nodes_[to].get())
      node->command({"CLUSTER", "SETSLOT", s, "NODE", id});
}

void RedisCluster::migrate(std::uint16_t slot, int from, int to) {
  begin_migration(slot, from, to);
  finish_migration(slot, to);
}

}  // namespace keygate::testing
