// Where the master of a Sentinel-managed Redis is, kept current (internal to redis/; each
// AsyncConnection made with store.redis.sentinel owns one, so the request path's Client and the
// revocation Subscriber both follow the master).
//
// Two kinds of sentinel connections:
//   - the watch: one connection to one sentinel at a time (the next one after each failure).
//     On every (re)connection it asks SENTINEL get-master-addr-by-name and subscribes to
//     +switch-master, pipelined, so nothing announced in between is missed; from then on a
//     failover is learnt the moment the sentinels announce it. Announcements made while it was
//     down are lost; the answer asked on its next connection makes up for them.
//   - one pipelined Client per sentinel for locate(), so that asking again never disturbs the
//     subscription.
#pragma once

#include <hiredis/async.h>

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "redis/cluster_client.h"
#include "redis/redis_client.h"

namespace keygate::redis {

class AsyncConnection;

class SentinelWatch : public std::enable_shared_from_this<SentinelWatch> {
 public:
  using Found = std::function<void(std::optional<NodeAddress> master, const std::string& error)>;
  using Moved = std::function<void(const NodeAddress& master)>;

  // `on_moved` runs (posted, on the executor) when the sentinels name a master other than the
  // last one they named and nobody is waiting in locate() for it.
  static std::shared_ptr<SentinelWatch> create(boost::asio::any_io_executor executor,
                                               const conf::RedisConfig& config, Moved on_moved);
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

  void start();
  void stop();

  // The master's address, for the next connection attempt. When the sentinels announced a new
  // master since the last call, that answer is given at once; otherwise they are asked again
  // (the caller lost or could not make its connection, and the old answer may be what is
  // wrong): the sentinel that answered last first, then the others in turn. Before any
  // sentinel connection is up, the watch's first answer is awaited. `found` runs once, posted
  // on the executor, unless a newer call supersedes it first; the caller bounds the wait.
  void locate(Found found);

  // For error messages and tests.
  std::optional<NodeAddress> last_known() const { return known_; }
  std::string last_error() const;

 private:
  SentinelWatch(boost::asio::any_io_executor executor, const conf::RedisConfig& config,
                Moved on_moved);

  void on_ready(redisAsyncContext* context);
  void on_address(const redisReply* reply);
  void on_message(const redisReply* reply);
  void ask(std::size_t tries, std::uint64_t query, std::string errors);
  void learn(const NodeAddress& master);
  void fail_waiter(const std::string& error);

  static void hook_address(redisAsyncContext* context, void* reply, void* self);
  static void hook_message(redisAsyncContext* context, void* reply, void* self);

  boost::asio::any_io_executor executor_;
  std::string master_name_;
  std::string where_;  // the sentinel of the current connection, for messages
  Moved on_moved_;
  std::chrono::milliseconds ask_timeout_;
  std::shared_ptr<AsyncConnection> connection_;   // the watch
  std::vector<std::shared_ptr<Client>> clients_;  // one per sentinel, for locate()
  std::vector<std::string> names_;                // their host:port
  std::size_t preferred_ = 0;                     // the client that answered last
  std::uint64_t query_ = 0;                       // the current locate(); older answers are late
  std::optional<NodeAddress> known_;              // the sentinels' last answer
  bool fresh_ = false;  // known_ changed since the last locate(): give it without asking
  Found waiter_;
  std::string error_;
  bool stopped_ = false;
};

}  // namespace keygate::redis
