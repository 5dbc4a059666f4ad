// Asynchronous Redis client: hiredis' async API driven by an Asio executor.
//
// One Client belongs to one single-threaded executor (hiredis is not thread-safe): create it,
// call it and receive its callbacks on that executor only. Commands written back to back are
// pipelined on the one connection. hiredis 0.14 has no timeouts, so every command carries a
// deadline enforced with a steady timer; a reply arriving after its deadline is dropped.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.h"
#include "redis/reply.h"

namespace keygate::redis {

using Callback = std::function<void(Result)>;

// Counters of one Client since it was made (for /metrics and tests).
struct ClientStats {
  std::uint64_t commands = 0;      // written to the connection
  std::uint64_t timeouts = 0;      // completed with Status::timeout
  std::uint64_t disconnected = 0;  // completed with Status::disconnected
  std::uint64_t overloaded = 0;    // refused with Status::overloaded
  std::uint64_t late_replies = 0;  // replies that came after their deadline, dropped
  std::uint64_t connects = 0;      // successful connections (handshake answered)
  std::uint64_t stalls = 0;        // connections replaced because Redis stopped answering
  // Commands written and not yet answered (timed out included), or waiting for the first
  // connection.
  std::size_t pending = 0;
};

// Tuning that is not part of the operator's configuration.
struct ClientOptions {
  // Commands waiting for a reply on the one connection, timed-out ones included until their
  // late reply arrives; beyond this, command() fails at once with Status::overloaded so a stalled
  // Redis cannot make the process buffer without limit.
  std::size_t max_pending = 10000;
  // When the oldest unanswered command has already timed out and still nothing came back this
  // long after it was sent, the connection is presumed dead (a peer gone without a FIN: TCP
  // would take minutes to notice while data is unacknowledged) and replaced.
  std::chrono::milliseconds stall_timeout{5000};
};

class Client {
 public:
  virtual ~Client() = default;

  // Connects (resolving the host with Asio, handing hiredis a numeric address) and keeps
  // reconnecting with exponential backoff between reconnect_min and reconnect_max until stop().
  virtual void start() = 0;
  // Completes every pending command with Status::cancelled and closes the connection.
  virtual void stop() = 0;
  virtual bool connected() const = 0;

  // Sends one command. `cb` runs exactly once, on the client's executor, never inline. Before
  // the first connection attempt has an outcome the command waits for it (within `timeout`);
  // otherwise a missing connection fails it at once with Status::disconnected.
  virtual void command(std::span<const std::string_view> args, std::chrono::milliseconds timeout,
                       Callback cb) = 0;
  void command(std::initializer_list<std::string_view> args, std::chrono::milliseconds timeout,
               Callback cb) {
    command(std::span<const std::string_view>(args.begin(), args.size()), timeout, std::move(cb));
  }

  // Non-pure so that test doubles need not implement them.
  virtual ClientStats stats() const { return {}; }
  // Why the last connection attempt failed or the last connection dropped; empty if none did.
  virtual std::string last_error() const { return {}; }
};

// The connection is one hiredis context at a time; pending commands are failed, never resent,
// when it drops (they may have run). Do not send SUBSCRIBE or MONITOR through a Client.
// Destroy a client on its executor's thread, or after that executor stopped running.
std::shared_ptr<Client> make_client(boost::asio::any_io_executor executor,
                                    const conf::RedisConfig& config);
std::shared_ptr<Client> make_client(boost::asio::any_io_executor executor,
                                    const conf::RedisConfig& config, const ClientOptions& options);

// How error messages name the configured Redis: "redis 10.0.0.1:6379", "redis cluster",
// "redis sentinel master 'mymaster'".
std::string describe_server(const conf::RedisConfig& config);

// A dedicated connection in SUBSCRIBE mode. `on_message(channel, payload)` runs on the
// executor for each message; `on_resubscribed()` runs after every (re)connection, since
// messages published while disconnected are lost and the caller must resynchronise.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  // True once every channel's subscription is confirmed on the current connection.
  virtual bool connected() const = 0;
  virtual std::string last_error() const { return {}; }
};

std::shared_ptr<Subscriber> make_subscriber(
    boost::asio::any_io_executor executor, const conf::RedisConfig& config,
    std::vector<std::string> channels,
    std::function<void(std::string_view channel, std::string_view payload)> on_message,
    std::function<void()> on_resubscribed);

}  // namespace keygate::redis
