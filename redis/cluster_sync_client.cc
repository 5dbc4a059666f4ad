// SyncClient for Redis Cluster (CLI, admin API thread, usage flushes): one blocking connection
// per node, opened on first use, commands routed by their key's slot like the async cluster
// client: MOVED updates the map and is retried once, ASK is retried once behind ASKING, SCRIPT
// goes to every master. Each round trip is bounded by command_timeout, as on one Redis.
#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <thread>

#include "redis/cluster_client.h"
#include "redis/cluster_slot.h"
#include "redis/sync_client.h"

namespace keygate::redis {
namespace {

class ClusterSyncClient final : public SyncClient {
 public:
  explicit ClusterSyncClient(const conf::RedisConfig& config) : config_(config) {}

  // Learns the slot map from the first seed that answers CLUSTER SLOTS.
  bool connect(std::string* error) {
    std::string why = "store.redis.cluster.seeds is empty";
    for (const std::string& seed : config_.cluster_seeds) {
      auto address = parse_node_address(seed);
      if (!address) continue;
      if (refresh(*address, &why)) return true;
    }
    *error = why;
    return false;
  }

  // A TRYAGAIN (keys of a multi-key command split by a migration in progress) is retried a few
  // times, 5 ms apart: off the data path, a short wait beats an error.
  Result command(std::span<const std::string_view> args) override {
    Result result = routed(args);
    for (int attempt = 0; attempt < 20 && result.status == Status::ok && result.reply.is_error() &&
                          result.reply.str.starts_with("TRYAGAIN");
         ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      result = routed(args);
    }
    return result;
  }

  std::string last_error() const override { return last_error_; }

 private:
  Result routed(std::span<const std::string_view> args) {
    if (is_script_command(args)) return broadcast(args);
    std::optional<std::string> owner;
    if (auto key = routing_key(args)) {
      owner = owners_[key_slot(*key)];
    } else if (!masters_.empty()) {
      owner = masters_.front();
    }
    if (!owner || owner->empty()) {
      last_error_ = "no node serves this slot";
      return Result{Status::disconnected, {}};
    }
    Result result = on(*owner, args);
    auto redirect = parse_redirect(result);
    if (!redirect) return result;
    std::string target = redirect->target.to_string();
    if (redirect->ask) {
      Result asking = on(target, std::initializer_list<std::string_view>{"ASKING"});
      if (!asking.ok()) return asking;
    } else {
      owners_[redirect->slot] = target;
      std::string ignored;
      refresh(redirect->target, &ignored);
    }
    return on(target, args);
  }

  SyncClient* node(const std::string& address) {
    auto found = nodes_.find(address);
    if (found != nodes_.end()) return found->second.get();
    auto parsed = parse_node_address(address);
    if (!parsed) return nullptr;
    conf::RedisConfig node_config = config_;
    node_config.host = parsed->host;
    node_config.port = parsed->port;
    node_config.cluster_seeds.clear();
    std::string error;
    auto client = connect_sync(node_config, &error);
    if (!client) {
      last_error_ = error;
      return nullptr;
    }
    return nodes_.emplace(address, std::move(client)).first->second.get();
  }

  Result on(const std::string& address, std::span<const std::string_view> args) {
    SyncClient* client = node(address);
    if (!client) return Result{Status::disconnected, {}};
    Result result = client->command(args);
    if (result.status != Status::ok) {
      last_error_ = address + ": " + client->last_error();
      nodes_.erase(address);  // reconnect on next use
    }
    return result;
  }

  bool refresh(const NodeAddress& address, std::string* error) {
    Result slots =
        on(address.to_string(), std::initializer_list<std::string_view>{"CLUSTER", "SLOTS"});
    if (!slots.ok() || slots.reply.type != Reply::Type::array) {
      *error = "CLUSTER SLOTS on " + address.to_string() +
               " failed: " + (slots.status != Status::ok ? last_error_ : slots.reply.str);
      return false;
    }
    std::array<std::string, kClusterSlots> owners;
    std::vector<std::string> masters;
    for (const Reply& range : slots.reply.elements) {
      if (range.elements.size() < 3 || range.elements[2].elements.size() < 2) continue;
      const Reply& master = range.elements[2];
      std::string host = master.elements[0].str.empty() ? address.host : master.elements[0].str;
      auto port = master.elements[1].integer;
      if (port <= 0 || port > 65535) continue;
      std::string name = NodeAddress{host, static_cast<std::uint16_t>(port)}.to_string();
      for (auto slot = range.elements[0].integer;
           slot <= range.elements[1].integer && slot < kClusterSlots; ++slot)
        owners[slot] = name;
      if (std::find(masters.begin(), masters.end(), name) == masters.end()) masters.push_back(name);
    }
    owners_ = std::move(owners);
    masters_ = std::move(masters);
    return true;
  }

  Result broadcast(std::span<const std::string_view> args) {
    std::optional<Result> good;
    Result last{Status::disconnected, {}};
    for (const std::string& master : masters_) {
      Result result = on(master, args);
      if (result.ok() && !good)
        good = result;
      else if (!result.ok())
        last = std::move(result);
    }
    return good ? std::move(*good) : last;
  }

  conf::RedisConfig config_;
  std::map<std::string, std::unique_ptr<SyncClient>> nodes_;
  std::array<std::string, kClusterSlots> owners_;
  std::vector<std::string> masters_;
  std::string last_error_;
};

}  // namespace

std::unique_ptr<SyncClient> connect_cluster_sync(const conf::RedisConfig& config,
                                                 std::string* error) {
  return connected_or_null(std::make_unique<ClusterSyncClient>(config), error);
}

}  // namespace keygate::redis
