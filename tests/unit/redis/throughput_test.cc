// How many commands per second one Client connection carries; prints the figure and checks a
// floor far below it, so a regression to one syscall pair per command is caught.
#include <gtest/gtest.h>

#include <iostream>

#include "redis/redis_client.h"
#include "tests/support/redis_server.h"
#include "tests/unit/redis/test_loop.h"

namespace keygate::redis {
namespace {

using namespace std::chrono_literals;
using keygate::testing::RedisServer;

double measure(Client& client, boost::asio::io_context& io, int total, int window) {
  int sent = 0;
  int answered = 0;
  int failed = 0;
  std::function<void()> send_one = [&] {
    ++sent;
    client.command({"INCR", "throughput"}, 2s, [&](Result r) {
      ++answered;
      if (!r.ok()) ++failed;
      if (sent < total) send_one();
    });
  };
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < window && sent < total; ++i) send_one();
  EXPECT_TRUE(test::run_until(
      io, [&] { return answered == total; }, 60s));
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(failed, 0);
  return answered / elapsed.count();
}

TEST(Throughput, OneConnection) {
  RedisServer server;
  boost::asio::io_context io;
  auto client = make_client(io.get_executor(), test::config_for(server));
  client->start();
  ASSERT_TRUE(test::run_until(io, [&] { return client->connected(); }));

  double serial = measure(*client, io, 20000, 1);
  double pipelined = measure(*client, io, 200000, 1000);
  std::cout << "[ figures  ] one in flight: " << static_cast<long>(serial)
            << " commands/s; 1000 in flight: " << static_cast<long>(pipelined) << " commands/s\n";
  ::testing::Test::RecordProperty("serial_commands_per_second", static_cast<int>(serial));
  ::testing::Test::RecordProperty("pipelined_commands_per_second", static_cast<int>(pipelined));
  EXPECT_GT(pipelined, 20000.0);
  EXPECT_EQ(server.command({"GET", "throughput"}).str, "220000");
}

}  // namespace
}  // namespace keygate::redis
