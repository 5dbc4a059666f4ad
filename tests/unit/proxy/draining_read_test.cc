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
  std::optional<std::string> got;  // what the last read completed with
  boost::system::error_code ec;

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    writer.set_option(tcp::no_delay(true));
  }

  void send(std::string_view text) { asio::write(writer, asio::buffer(text)); }
  DrainingBuffer draining() { return DrainingBuffer{asio::buffer(buffer)}; }

  // Starts a read; `got` is set when it completes.
  template <class Buffers>
  void start_read(const Buffers& buffers) {
    got.reset();
    reader.async_read_some(buffers, [this](boost::system::error_code e, std::size_t n) {
      ec = e;
      got = std::string(buffer.data(), n);
    });
  }

  // Runs the loop until the read completes, at most 10 s (the deadline is the failure).
  bool run_until_read() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!got && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(std::chrono::milliseconds(5));
    }
    return got.has_value();
  }

  // Runs what is ready without waiting.
  void poll() {
    io.restart();
    io.poll();
  }

  // Sends `text` and reads it with a DrainingBuffer (a short read: the socket is drained).
  std::string send_and_read(std::string_view text) {
    send(text);
    start_read(draining());
    EXPECT_TRUE(run_until_read());
    return got.value_or("");
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
  EXPECT_EQ(pair.send_and_read("GET /"), "GET /");
  // Nothing has arrived: starting the next read must not try the socket.
  recv_calls = 0;
  pair.start_read(pair.draining());
  pair.poll();
  EXPECT_FALSE(pair.got.has_value());
  EXPECT_EQ(recv_calls.load(), 0) << "a speculative recv was made after a short read";

  pair.send("second");
  ASSERT_TRUE(pair.run_until_read());
  EXPECT_FALSE(pair.ec);
  EXPECT_EQ(*pair.got, "second");
  EXPECT_EQ(recv_calls.load(), 1);
}

TEST(DrainingRead, AsioAloneTriesTheSocketFirst) {
  // The behaviour DrainingBuffer avoids, so the test above can tell the difference.
  Pair pair;
  pair.send("GET /");
  pair.start_read(asio::buffer(pair.buffer));
  ASSERT_TRUE(pair.run_until_read());
  recv_calls = 0;
  pair.start_read(asio::buffer(pair.buffer));
  EXPECT_EQ(recv_calls.load(), 1);  // the speculative recv, failing with EAGAIN
  EXPECT_FALSE(pair.got.has_value());
  pair.send("x");
  ASSERT_TRUE(pair.run_until_read());
  EXPECT_EQ(*pair.got, "x");
}

TEST(DrainingRead, BytesThatArriveWhileNoReadIsQueuedAreRead) {
  Pair pair;
  EXPECT_EQ(pair.send_and_read("first"), "first");
  // The edge for these bytes reaches the reactor while nobody reads.
  pair.send("while idle");
  pair.turn_reactor();
  pair.start_read(pair.draining());
  ASSERT_TRUE(pair.run_until_read()) << "bytes that were already there were never read";
  EXPECT_EQ(*pair.got, "while idle");
  // And bytes that arrive before the next read starts, with no reactor turn in between.
  EXPECT_EQ(pair.send_and_read("before the read"), "before the read");
}

TEST(DrainingRead, AFullBufferIsNotTakenForADrainedSocket) {
  Pair pair;
  pair.send("0123456789ab");
  pair.start_read(DrainingBuffer{asio::buffer(pair.buffer.data(), 8)});
  ASSERT_TRUE(pair.run_until_read());
  EXPECT_EQ(*pair.got, "01234567");
  // The rest is read at once, from the socket, without waiting for a new edge.
  pair.start_read(pair.draining());
  pair.poll();
  ASSERT_TRUE(pair.got.has_value());
  EXPECT_EQ(*pair.got, "89ab");
}

TEST(DrainingRead, EndOfStreamAfterAShortReadIsSeen) {
  Pair pair;
  EXPECT_EQ(pair.send_and_read("last"), "last");
  pair.start_read(pair.draining());
  pair.writer.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(pair.run_until_read());
  EXPECT_EQ(pair.ec, asio::error::eof);
  EXPECT_EQ(*pair.got, "");
}

}  // namespace
}  // namespace keygate::proxy
