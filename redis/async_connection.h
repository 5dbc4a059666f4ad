// One hiredis async context at a time, driven by an Asio executor and kept connected until
// stop() (internal to redis/; Client and Subscriber are built on it).
//
// hiredis owns the socket; Asio only watches it: the descriptor is released, never closed, when
// hiredis tears the context down. hiredis 0.14 has no timeouts, so the connect and handshake
// share one steady timer, and failed attempts are retried after an exponential backoff.
// Everything here runs on the one executor given at creation.
//
// With store.redis.sentinel the connection is to the current master: each attempt first asks
// the sentinels where it is (the same deadline covers that), ROLE must answer "master" before
// the connection counts as ready, and a +switch-master moves the connection at once
// (redis/sentinel_watch.h).
#pragma once

#include <hiredis/async.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "conf/config.h"
#include "redis/backoff.h"

namespace keygate::redis {

class SentinelWatch;

class AsyncConnection : public std::enable_shared_from_this<AsyncConnection> {
 public:
  struct Hooks {
    // The handshake (AUTH, SELECT, or a PING when neither is needed) was answered; `context`
    // may be used until on_lost. Runs inside a hiredis callback: send commands, do not free it.
    std::function<void(redisAsyncContext* context)> on_ready;
    // The ready context is being torn down (hiredis already failed its pending callbacks with a
    // null reply). Runs inside hiredis: touch nothing of the connection.
    std::function<void()> on_lost;
    // An attempt failed (or a connection dropped) and a retry is scheduled. May run inside
    // hiredis: touch nothing of the connection.
    std::function<void()> on_attempt_failed;
  };

  static std::shared_ptr<AsyncConnection> create(boost::asio::any_io_executor executor,
                                                 const conf::RedisConfig& config, Hooks hooks);
  ~AsyncConnection();
  AsyncConnection(const AsyncConnection&) = delete;
  AsyncConnection& operator=(const AsyncConnection&) = delete;

  void start();
  // Frees the context (hiredis runs every pending callback with a null reply before this
  // returns, unless called from inside a hiredis callback) and never reconnects. Idempotent.
  void stop();
  // Closes the current connection and reconnects after a backoff, e.g. when a subscription
  // was not confirmed in time.
  void drop(std::string reason);
  // Abandons the current connection or attempt and starts a new attempt at once, without the
  // backoff: the server moved (a sentinel announced a new master).
  void restart_now(std::string reason);
  bool ready() const { return state_ == State::ready; }
  // Started, and its first attempt is still under way: no verdict on the server yet.
  bool first_attempt_pending() const {
    return connects_ == 0 && failures_ == 0 && state_ != State::idle && state_ != State::stopped;
  }
  // Non-null only while ready().
  redisAsyncContext* context() const { return ready() ? context_ : nullptr; }
  const std::string& last_error() const { return last_error_; }
  std::uint64_t connects() const { return connects_; }
  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  enum class State { idle, locating, resolving, connecting, handshaking, ready, waiting, stopped };

  AsyncConnection(boost::asio::any_io_executor executor, const conf::RedisConfig& config,
                  Hooks hooks);

  void begin_attempt();
  void connect_host();
  void on_role_reply(const redisReply* reply);
  void connect_to(const boost::asio::ip::address& address);
  void on_connect_timeout();
  void schedule_retry();
  void on_connected();
  void on_handshake_reply(const redisReply* reply);
  void become_ready();
  void on_context_gone();

  void arm_read();
  void arm_write();
  void request_flush();
  void on_readable();
  void on_writable();
  void fail_link(const std::string& reason);

  // hiredis hooks (C callbacks); privdata is the AsyncConnection.
  static void hook_add_read(void* self);
  static void hook_del_read(void* self);
  static void hook_add_write(void* self);
  static void hook_del_write(void* self);
  static void hook_cleanup(void* self);
  static void hook_connect(const redisAsyncContext* context, int status);
  static void hook_handshake(redisAsyncContext* context, void* reply, void* self);
  static void hook_role(redisAsyncContext* context, void* reply, void* self);

  boost::asio::any_io_executor executor_;
  conf::RedisConfig config_;
  std::string password_;
  Hooks hooks_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;  // the attempt's deadline, or the backoff delay
  boost::asio::posix::stream_descriptor socket_;
  Backoff backoff_;
  std::shared_ptr<SentinelWatch> sentinel_;  // with store.redis.sentinel only

  State state_ = State::idle;
  redisAsyncContext* context_ = nullptr;
  // Bumped whenever outstanding handlers must become no-ops: a new attempt, a torn-down
  // context, stop(). Handlers compare the value they captured.
  std::uint64_t generation_ = 0;
  bool want_read_ = false;
  bool want_write_ = false;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool flush_posted_ = false;
  bool writing_ = false;        // inside redisAsyncHandleWrite: on_writable re-arms by itself
  bool retry_at_once_ = false;  // restart_now(): the next retry skips the backoff
  int handshake_pending_ = 0;
  std::uint64_t connects_ = 0;
  std::uint64_t failures_ = 0;  // attempts that failed or connections that dropped
  std::string last_error_;
};

}  // namespace keygate::redis
