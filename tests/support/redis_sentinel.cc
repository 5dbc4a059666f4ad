#include "tests/support/redis_sentinel.h"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace keygate::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` every few milliseconds until it holds or `timeout_ms` passed.
template <class Done>
bool poll(Done done, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A field of a flat [name, value, name, value...] reply (SENTINEL MASTER).
std::string field(const redis::Reply& reply, const std::string& name) {
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2)
    if (reply.elements[i].str == name) return reply.elements[i + 1].str;
  return {};
}

}  // namespace

RedisSentinelGroup::RedisSentinelGroup() : RedisSentinelGroup(Options{}) {}

RedisSentinelGroup::RedisSentinelGroup(Options options) : options_(std::move(options)) {
  // Diskless replication without delay: the replica is in sync within milliseconds.
  const std::vector<std::string> fast_sync = {"--repl-diskless-sync", "yes",
                                              "--repl-diskless-sync-delay", "0"};
  RedisServer::Options master;
  master.extra_args = fast_sync;
  servers_.push_back(std::make_unique<RedisServer>(master));
  RedisServer::Options replica;
  replica.extra_args = fast_sync;
  replica.extra_args.insert(replica.extra_args.end(),
                            {"--replicaof", "127.0.0.1", std::to_string(servers_[0]->port())});
  servers_.push_back(std::make_unique<RedisServer>(replica));

  const std::string& name = options_.master_name;
  for (int i = 0; i < options_.sentinels; ++i) {
    RedisServer::Options sentinel;
    sentinel.sentinel = true;
    sentinel.config_file_text =
        "sentinel monitor " + name + " 127.0.0.1 " + std::to_string(servers_[0]->port()) + " " +
        std::to_string(options_.sentinels / 2 + 1) + "\n" + "sentinel down-after-milliseconds " +
        name + " " + std::to_string(options_.down_after_ms) + "\n" + "sentinel failover-timeout " +
        name + " " + std::to_string(options_.failover_timeout_ms) + "\n" +
        "sentinel parallel-syncs " + name + " 1\n";
    sentinels_.push_back(std::make_unique<RedisServer>(sentinel));
  }
  wait_until_ready(20000);
}

RedisSentinelGroup::~RedisSentinelGroup() {
  // Sentinels first, so none starts a failover while the servers go away.
  sentinels_.clear();
  servers_.clear();
}

std::vector<std::string> RedisSentinelGroup::sentinel_addresses() const {
  std::vector<std::string> out;
  for (const auto& sentinel : sentinels_)
    out.push_back("127.0.0.1:" + std::to_string(sentinel->port()));
  return out;
}

int RedisSentinelGroup::named_master() const {
  for (const auto& sentinel : sentinels_) {
    if (!sentinel->running()) continue;
    redis::Reply reply =
        sentinel->command({"SENTINEL", "get-master-addr-by-name", options_.master_name});
    if (reply.elements.size() != 2) continue;
    for (std::size_t i = 0; i < servers_.size(); ++i)
      if (reply.elements[1].str == std::to_string(servers_[i]->port())) return static_cast<int>(i);
    return -1;
  }
  return -1;
}

bool RedisSentinelGroup::wait_for_master(int index, int timeout_ms) const {
  const std::string port = std::to_string(servers_[index]->port());
  return poll(
      [&] {
        for (const auto& sentinel : sentinels_) {
          if (!sentinel->running()) continue;
          redis::Reply reply =
              sentinel->command({"SENTINEL", "get-master-addr-by-name", options_.master_name});
          if (reply.elements.size() != 2 || reply.elements[1].str != port) return false;
        }
        redis::Reply role = servers_[index]->command({"ROLE"});
        return !role.elements.empty() && role.elements[0].str == "master";
      },
      timeout_ms);
}

void RedisSentinelGroup::wait_until_ready(int timeout_ms) const {
  const std::string others = std::to_string(options_.sentinels - 1);
  bool ready = poll(
      [&] {
        std::string info = servers_[1]->command({"INFO", "replication"}).str;
        if (info.find("master_link_status:up") == std::string::npos) return false;
        for (const auto& sentinel : sentinels_) {
          redis::Reply master = sentinel->command({"SENTINEL", "MASTER", options_.master_name});
          if (field(master, "num-slaves") != "1" || field(master, "num-other-sentinels") != others)
            return false;
        }
        return true;
      },
      timeout_ms);
  if (!ready) {
    std::string why = "sentinel group did not form within " + std::to_string(timeout_ms) + " ms";
    for (const auto& sentinel : sentinels_) why += "\n--- sentinel log:\n" + sentinel->log_tail();
    throw std::runtime_error(why);
  }
}

}  // namespace keygate::testing
