// Helpers shared by the redis unit tests: drive an io_context until a condition holds.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "conf/config.h"
#include "tests/support/redis_server.h"

namespace keygate::redis::test {

using namespace std::chrono_literals;

// Runs `io` until `done()` holds or `limit` passes; returns done(). Never sleeps blindly: the
// io_context wakes up as soon as work completes.
template <class Done>
bool run_until(boost::asio::io_context& io, Done done,
               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Runs whatever is ready now, without waiting for anything new.
inline void run_ready(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

// Fast reconnects, so outage tests stay short.
inline conf::RedisConfig config_for(const keygate::testing::RedisServer& server) {
  conf::RedisConfig config;
  config.host = "127.0.0.1";
  config.port = server.port();
  config.command_timeout = 2000ms;
  config.connect_timeout = 1000ms;
  config.reconnect_min = 20ms;
  config.reconnect_max = 200ms;
  return config;
}

}  // namespace keygate::redis::test
