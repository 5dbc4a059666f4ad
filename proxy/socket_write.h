// Writing a whole message with no trip through the event loop when the socket takes it at
// once, which on loopback and LAN it almost always does for a small message.
#pragma once

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include "proxy/asio_aliases.h"

namespace keygate::proxy {

// Sends what `socket` (in non-blocking mode) takes right now, sparing the event-loop round an
// asynchronous write completes through; the caller writes any rest with write_rest. Errors
// other than "would block" come back in `ec`.
template <class Buffers>
std::size_t send_now(Socket& socket, const Buffers& buffers, boost::system::error_code& ec) {
  const std::size_t sent = socket.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    return 0;
  }
  return sent;
}

// Writes what send_now left of `buffers` (it sent `sent` bytes), asynchronously, on a socket
// or a Stream (plain or TLS).
template <class AsyncStream, class Buffers>
awaitable<boost::system::error_code> write_rest(AsyncStream& stream, const Buffers& buffers,
                                                std::size_t sent) {
  boost::beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(sent);
  auto [ec, n] = co_await asio::async_write(stream, rest, nothrow_awaitable);
  co_return ec;
}

}  // namespace keygate::proxy
