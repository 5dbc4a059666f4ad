// Asynchronous Redis client: hiredis' async API driven by an Asio executor.
//
// One Client belongs to one single-threaded executor (hiredis is not thread-safe): create it,
// call it and receive its callbacks on that executor only. Commands written back to back are
// pipelined on the one connection. hiredis 0.14 has no timeouts, so every command carries a
// deadline enforced with a steady timer; a reply arriving after its deadline is dropped.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "redis/reply.h"

namespace keygate::redis {

using Callback = std::function<void(Result)>;

class Client {
 public:
  virtual ~Client() = default;

  // Connects (resolving the host with Asio, handing hiredis a numeric address) and keeps
  // reconnecting with exponential backoff between reconnect_min and reconnect_max until stop().
  virtual void start() = 0;
  // Completes every pending command with Status::cancelled and closes the connection.
  virtual void stop() = 0;
  virtual bool connected() const = 0;

  // Sends one command. `cb` runs exactly once, on the client's executor, never inline.
  virtual void command(std::span<const std::string_view> args, std::chrono::milliseconds timeout,
                       Callback cb) = 0;
  void command(std::initializer_list<std::string_view> args, std::chrono::milliseconds timeout,
               Callback cb) {
    command(std::span<const std::string_view>(args.begin(), args.size()), timeout,
            std::move(cb));
  }
};

std::shared_ptr<Client> make_client(boost::asio::any_io_executor executor,
                                    const conf::RedisConfig& config);

// A dedicated connection in SUBSCRIBE mode. `on_message(channel, payload)` runs on the
// executor for each message; `on_resubscribed()` runs after every (re)connection, since
// messages published while disconnected are lost and the caller must resynchronise.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual bool connected() const = 0;
};

std::shared_ptr<Subscriber> make_subscriber(
    boost::asio::any_io_executor executor, const conf::RedisConfig& config,
    std::vector<std::string> channels,
    std::function<void(std::string_view channel, std::string_view payload)> on_message,
    std::function<void()> on_resubscribed);

}  // namespace keygate::redis
