// Blocking Redis client for the command line and the admin API thread (never the data path).
// hiredis' synchronous context does support socket timeouts, unlike its async one.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "redis/reply.h"

namespace keygate::redis {

class SyncClient {
 public:
  virtual ~SyncClient() = default;
  // Sends one command and waits for its reply, at most config.command_timeout.
  // Reconnects once on a dropped connection before giving up with Status::disconnected.
  virtual Result command(std::span<const std::string_view> args) = 0;
  Result command(std::initializer_list<std::string_view> args) {
    return command(std::span<const std::string_view>(args.begin(), args.size()));
  }
  // Why the last command failed with Status::timeout or Status::disconnected. Non-pure so that
  // test doubles need not implement it.
  virtual std::string last_error() const { return {}; }
};

// Returns null and fills `error` when the server cannot be reached within connect_timeout.
// With config.cluster_seeds, a cluster client (redis/cluster_sync_client.cc) that routes each
// command to the node owning its key's slot. With config.sentinels, each connection is made
// to the master the sentinels name (and ROLE confirms); a READONLY reply (the master was
// demoted) is sent again once to the new one.
std::unique_ptr<SyncClient> connect_sync(const conf::RedisConfig& config, std::string* error);
std::unique_ptr<SyncClient> connect_cluster_sync(const conf::RedisConfig& config,
                                                 std::string* error);

// The client once its first connection is made, or null with `error` filled (for the
// connect_* functions above).
template <class Client>
std::unique_ptr<SyncClient> connected_or_null(std::unique_ptr<Client> client, std::string* error) {
  std::string why;
  if (!client->connect(&why)) {
    if (error) *error = why;
    return nullptr;
  }
  return client;
}

}  // namespace keygate::redis
