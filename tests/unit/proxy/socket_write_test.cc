// send_now + write_rest over a real loopback TCP connection whose send buffer is too small
// for the message: the part the socket does not take at once must follow, in order.
#include "proxy/socket_write.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <optional>
#include <string>

namespace keygate::proxy {
namespace {

struct Pair {
  asio::io_context io;
  Socket writer{io};
  Socket reader{io};

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    writer.connect(acceptor.local_endpoint());
    acceptor.accept(reader);
    writer.set_option(asio::socket_base::send_buffer_size(4096));  // fixed: no autotuning
    writer.set_option(tcp::no_delay(true));
    writer.non_blocking(true);
  }
};

TEST(SocketWrite, WhatTheSocketDoesNotTakeAtOnceFollows) {
  Pair pair;
  const std::string head = "HEAD:";
  std::string body(200 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};

  boost::system::error_code ec;
  const std::size_t sent = send_now(pair.writer, pieces, ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_LT(sent, head.size() + body.size()) << "the send buffer took everything";

  std::optional<boost::system::error_code> rest_ec;
  asio::co_spawn(
      pair.io,
      [&]() -> awaitable<void> { rest_ec = co_await write_rest(pair.writer, pieces, sent); },
      asio::detached);
  // The reader drains while the writer waits for room: both run on the one io_context.
  std::string received(head.size() + body.size(), '\0');
  std::size_t got = 0;
  asio::async_read(pair.reader, asio::buffer(received),
                   [&](boost::system::error_code, std::size_t n) { got = n; });
  pair.io.run_for(std::chrono::seconds(20));
  ASSERT_TRUE(rest_ec.has_value());
  EXPECT_FALSE(*rest_ec) << rest_ec->message();
  ASSERT_EQ(got, received.size());
  EXPECT_EQ(received, head + body);
}

TEST(SocketWrite, WouldBlockIsNotAnError) {
  Pair pair;
  const std::string chunk(64 * 1024, 'x');
  boost::system::error_code ec;
  std::size_t total = 0;
  // Fill the send buffer and the peer's receive buffer; the last call takes nothing.
  for (int i = 0; i < 1000; ++i) {
    const auto sent = send_now(pair.writer, asio::buffer(chunk), ec);
    ASSERT_FALSE(ec) << ec.message();
    total += sent;
    if (sent == 0) break;
  }
  EXPECT_GT(total, 0u);
  EXPECT_EQ(send_now(pair.writer, asio::buffer(chunk), ec), 0u);
  EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace keygate::proxy
