// Reads that tell Asio's reactor when they drained the socket, so the next read waits for
// epoll instead of first trying a recv that can only fail with EAGAIN.
//
// Asio (1.81, epoll) tries every read at once ("speculatively") unless the previous one reported
// the socket exhausted, which a TCP read does only at end of stream. A request-response peer
// sends nothing until it has our answer, so the read after each exchange is a wasted system call:
// about a third of the recv calls of a proxied request, half of an authorize decision's. nginx
// skips it the same way: a read that returns fewer bytes than it asked for has emptied the
// receive queue. That is safe with Asio's edge-triggered registration: any byte that arrives
// after the short read raises a new edge, and the reactor marks the socket readable again when
// it sees one (even with no read queued), so nothing waits on data that is already there.
//
// Use: `socket.async_read_some(DrainingBuffer{asio::buffer(...)}, token)`. Only the reads given
// a DrainingBuffer behave this way; every other read keeps Asio's own logic.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/socket_base.hpp>

// After socket_base.hpp, which it uses without including (a block of its own, so that include
// sorting keeps the order).
#include <boost/asio/detail/reactive_socket_recv_op.hpp>

namespace keygate::proxy {

// One mutable buffer, as its own type so the reactor specialisation below applies to it alone.
struct DrainingBuffer {
  boost::asio::mutable_buffer buffer;

  const boost::asio::mutable_buffer* begin() const { return &buffer; }
  const boost::asio::mutable_buffer* end() const { return &buffer + 1; }
};

}  // namespace keygate::proxy

namespace boost::asio::detail {

// The same receive as Asio's own, plus "exhausted" on a short read. Must precede any read with
// a DrainingBuffer in a translation unit (it replaces what would otherwise be instantiated).
template <>
inline reactor_op::status reactive_socket_recv_op_base<keygate::proxy::DrainingBuffer>::do_perform(
    reactor_op* base) {
  auto* op = static_cast<reactive_socket_recv_op_base*>(base);
  const mutable_buffer& buffer = op->buffers_.buffer;
  const bool stream = (op->state_ & socket_ops::stream_oriented) != 0;
  if (!socket_ops::non_blocking_recv1(op->socket_, buffer.data(), buffer.size(), op->flags_, stream,
                                      op->ec_, op->bytes_transferred_))
    return not_done;  // would block: wait for epoll
  // Fewer bytes than asked for (none at end of stream or on an error): the queue is empty.
  return stream && op->bytes_transferred_ < buffer.size() ? done_and_exhausted : done;
}

}  // namespace boost::asio::detail
