// A connection's byte stream: a plain TCP socket, or TLS over that socket once start_tls()
// was called. The session and the upstream pool hold this one type, so plain HTTP and HTTPS
// share every line of the request path; each I/O call costs one predictable branch.
//
// The TLS layer (tls_stream.h) refers to the socket, so the socket stays reachable for what
// only it knows (options, endpoints, the descriptor) and a Stream is not movable: it lives
// inside the session or the pooled connection that owns it.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <utility>

#include "proxy/asio_aliases.h"
#include "proxy/socket_write.h"
#include "proxy/tls_stream.h"

namespace keygate::proxy {

class Stream {
 public:
  using executor_type = Executor;

  explicit Stream(const Executor& executor) : socket_(executor) {}
  explicit Stream(Socket socket) : socket_(std::move(socket)) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // From now on bytes go through TLS with `context` (a handshake must come first).
  TlsStream& start_tls(asio::ssl::context& context) {
    tls_ = std::make_unique<TlsStream>(socket_, context);
    return *tls_;
  }
  bool is_tls() const { return tls_ != nullptr; }
  TlsStream* tls() { return tls_.get(); }
  Socket& tcp() { return socket_; }

  executor_type get_executor() { return socket_.get_executor(); }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return socket_.async_write_some(buffers, std::forward<Token>(token));
  }

  // Bytes a read can have without waiting for the socket (TLS buffers what it decrypted).
  bool has_buffered_input() const { return tls_ && tls_->has_buffered_input(); }
  // Non-blocking: what can be read now, or would_block.
  std::size_t read_some_now(asio::mutable_buffer buffer, boost::system::error_code& ec) {
    if (tls_) return tls_->read_now(buffer, ec);
    return socket_.read_some(buffer, ec);
  }
  // Before a deliberate close of a TLS connection: close_notify if the socket takes it now.
  void send_close_notify() {
    if (tls_) tls_->send_close_notify();
  }

  // What the session and the pool ask of the socket underneath, whatever the layer.
  void cancel(boost::system::error_code& ec) { socket_.cancel(ec); }
  void close(boost::system::error_code& ec) { socket_.close(ec); }
  void shutdown(tcp::socket::shutdown_type what, boost::system::error_code& ec) {
    socket_.shutdown(what, ec);
  }
  bool is_open() const { return socket_.is_open(); }
  auto native_handle() { return socket_.native_handle(); }
  tcp::endpoint remote_endpoint(boost::system::error_code& ec) const {
    return socket_.remote_endpoint(ec);
  }
  template <class Option>
  void set_option(const Option& option, boost::system::error_code& ec) {
    socket_.set_option(option, ec);
  }
  void non_blocking(bool mode, boost::system::error_code& ec) { socket_.non_blocking(mode, ec); }

 private:
  Socket socket_;
  std::unique_ptr<TlsStream> tls_;
};

// send_now/write_rest (socket_write.h) for a Stream. Over TLS the pieces leave as one record
// (up to TlsStream::kFlattenBytes); when OpenSSL has to wait, nothing counts as sent and
// write_rest offers the same bytes again, as OpenSSL requires of a retried write.
template <class Buffers>
std::size_t send_now(Stream& stream, const Buffers& buffers, boost::system::error_code& ec) {
  if (auto* tls = stream.tls()) {
    const std::size_t sent = tls->write_now(buffers, ec);
    if (ec == asio::error::would_block) ec = {};
    return sent;
  }
  return send_now(stream.tcp(), buffers, ec);
}

}  // namespace keygate::proxy
