// A real redis-server for tests: started on a free loopback port in its own temporary directory,
// with no persistence, stopped and restarted on the same port for outage tests.
//
// A missing redis-server binary or a server that does not answer PING within 10 s throws
// std::runtime_error with the reason and the end of the server's log; inside a GoogleTest
// fixture or test that is a failure, never a skip. The server is started from the constructing
// thread and dies with it (PR_SET_PDEATHSIG), so a crashed test run leaves no server behind:
// construct it on the test's thread, not on a short-lived helper thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "redis/reply.h"

namespace keygate::testing {

class RedisServer {
 public:
  struct Options {
    std::string password;  // --requirepass; command() authenticates with it
    std::vector<std::string>
        extra_args;  // appended to the command line, e.g. {"--maxclients", "5"}
    // Written to a config file in the server's directory, passed first on the command line
    // and kept across restarts (a sentinel rewrites its own: it must be a writable file).
    std::string config_file_text;
    bool sentinel = false;  // `redis-server <config file> --sentinel`
  };

  RedisServer();
  explicit RedisServer(Options options);
  ~RedisServer();  // kills the server (SIGKILL) and removes its directory
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  bool running() const { return pid_ > 0; }

  // SIGTERM and wait for the process to exit (SIGKILL after 10 s). No-op when not running.
  void stop();
  // SIGKILL: an abrupt outage, connections reset without a goodbye.
  void kill();
  // Starts the server again on the same port; waits until it answers PING.
  void start();
  // SIGSTOP / SIGCONT: the server stays reachable at the TCP level (the kernel still accepts
  // connections and data) but answers nothing, like a peer behind a network partition.
  void pause();
  void resume();

  // One command over a fresh blocking connection, for assertions. Connection failures come back
  // as an error reply starting with "ERR test helper".
  redis::Reply command(std::span<const std::string_view> args) const;
  redis::Reply command(std::initializer_list<std::string_view> args) const {
    return command(std::span<const std::string_view>(args.begin(), args.size()));
  }

  // The last lines the server wrote, for failure messages.
  std::string log_tail() const;

  // redis-server on PATH, else /usr/bin/redis-server; empty when there is none.
  static std::string find_binary();

 private:
  enum class Outcome { ready, exited, timed_out };
  void launch(bool keep_port);
  void spawn();
  Outcome wait_until_ready();
  bool wait_exit(int milliseconds);

  Options options_;
  std::string binary_;
  std::string directory_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace keygate::testing
