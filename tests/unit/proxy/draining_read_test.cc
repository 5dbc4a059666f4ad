// DrainingBuffer over a real loopback TCP connection: after a short read the next read waits for
// epoll without a recv that could only fail, and no byte is ever left waiting (data that arrives
// while no read is queued, or before the next read starts, is still read).
#include "proxy/draining_read.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "proxy/asio_aliases.h"

// Counts the recv calls Asio makes (its reads go through recv(2)); forwards to the system call.
namespace {
std::atomic<int> recv_calls{0};
}
extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
  recv_calls.fetch_add(1, std::memory_order_relaxed);
  return static_cast<ssize_t>(::syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr));
}

namespace keygate::proxy {
namespace {

struct Pair {
  asio::io_context io;
  tcp::socket writer{io};
  tcp::socket reader{io};
  std::array<char, 1024> buffer{};

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    writer.set_option(tcp::no_delay(true));
  }

  void send(std::string_view text) { asio::write(writer, asio::buffer(text)); }

  // Starts a read; `done` is set when it completes.
  template <class Buffers>
  void start_read(const Buffers& buffers, std::optional<std::string>& done,
                  boost::system::error_code& ec) {
    reader.async_read_some(buffers, [&](boost::system::error_code e, std::size_t n) {
      ec = e;
      done = std::string(buffer.data(), n);
    });
  }

  // Runs the loop until `done` is set, at most `limit` (the deadline is the failure).
  bool run_until_set(const std::optional<std::string>& done,
                     std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return done.has_value();
  }

  // Lets the reactor see whatever the socket signals while no read is queued: a timer keeps
  // the loop in epoll_wait for a while.
  void turn_reactor() {
    asio::steady_timer timer(io, std::chrono::milliseconds(20));
    bool fired = false;
    timer.async_wait([&](boost::system::error_code) { fired = true; });
    io.restart();
    while (!fired) io.run_one();
  }
};

TEST(DrainingRead, AfterAShortReadTheNextReadWaitsWithoutARecv) {
  Pair pair;
  std::optional<std::string> got;
  boost::system::error_code ec;
  pair.send("GET /");
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  ASSERT_TRUE(pair.run_until_set(got));
  EXPECT_EQ(*got, "GET /");

  // Nothing has arrived: starting the next read must not try the socket.
  got.reset();
  recv_calls = 0;
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  pair.io.restart();
  pair.io.poll();
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(recv_calls.load(), 0) << "a speculative recv was made after a short read";

  pair.send("second");
  ASSERT_TRUE(pair.run_until_set(got));
  EXPECT_FALSE(ec);
  EXPECT_EQ(*got, "second");
  EXPECT_EQ(recv_calls.load(), 1);
}

TEST(DrainingRead, AsioAloneTriesTheSocketFirst) {
  // The behaviour DrainingBuffer avoids, so the test above can tell the difference.
  Pair pair;
  std::optional<std::string> got;
  boost::system::error_code ec;
  pair.send("GET /");
  pair.start_read(asio::buffer(pair.buffer), got, ec);
  ASSERT_TRUE(pair.run_until_set(got));
  got.reset();
  recv_calls = 0;
  pair.start_read(asio::buffer(pair.buffer), got, ec);
  EXPECT_EQ(recv_calls.load(), 1);  // the speculative recv, failing with EAGAIN
  EXPECT_FALSE(got.has_value());
  pair.send("x");
  ASSERT_TRUE(pair.run_until_set(got));
  EXPECT_EQ(*got, "x");
}

TEST(DrainingRead, BytesThatArriveWhileNoReadIsQueuedAreRead) {
  Pair pair;
  std::optional<std::string> got;
  boost::system::error_code ec;
  pair.send("first");
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  ASSERT_TRUE(pair.run_until_set(got));

  // The edge for these bytes reaches the reactor while nobody reads.
  pair.send("while idle");
  pair.turn_reactor();
  got.reset();
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  ASSERT_TRUE(pair.run_until_set(got)) << "bytes that were already there were never read";
  EXPECT_EQ(*got, "while idle");

  // And bytes that arrive before the next read starts, with no reactor turn in between.
  pair.send("before the read");
  got.reset();
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  ASSERT_TRUE(pair.run_until_set(got));
  EXPECT_EQ(*got, "before the read");
}

TEST(DrainingRead, AFullBufferIsNotTakenForADrainedSocket) {
  Pair pair;
  std::optional<std::string> got;
  boost::system::error_code ec;
  const std::string twelve = "0123456789ab";
  pair.send(twelve);
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer.data(), 8)}, got, ec);
  ASSERT_TRUE(pair.run_until_set(got));
  EXPECT_EQ(*got, "01234567");
  // The rest is read at once, from the socket, without waiting for a new edge.
  got.reset();
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  pair.io.restart();
  pair.io.poll();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "89ab");
}

TEST(DrainingRead, EndOfStreamAfterAShortReadIsSeen) {
  Pair pair;
  std::optional<std::string> got;
  boost::system::error_code ec;
  pair.send("last");
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  ASSERT_TRUE(pair.run_until_set(got));
  got.reset();
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer)}, got, ec);
  pair.writer.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(pair.run_until_set(got));
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(*got, "");
}

}  // namespace
}  // namespace keygate::proxy
