// TLS over a connection's non-blocking socket, the way nginx does it: OpenSSL reads and writes
// the descriptor itself (a socket BIO) and the event loop is asked only to wait for readiness.
//
// Why not asio::ssl::stream: it runs OpenSSL over a memory BIO pair, copies every byte through
// it, and completes every read and write through an asynchronous socket operation of its own,
// so even a response the socket would take at once went through the event loop (one more
// epoll_wait and several handler runs per request; measured in docs/tls.md). Here a response is
// one record and one send(), made at once when the socket takes it (write_now).
//
// Operations:
// - read_now / write_now: non-blocking attempts for the data path (would_block when the
//   socket or OpenSSL needs to wait); the async_* operations for Beast and the rest.
// - Multi-buffer writes are copied into one buffer of at most kFlattenBytes first, so a
//   message head and its body leave as one record.
// - async_shutdown and send_close_notify send close_notify without waiting for the peer's
//   (RFC 8446 §6.1 does not require the initiator to wait), so closing never waits on a peer.
//
// One operation of each direction at a time (what HTTP/1.1 and the tunnel do).
#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/compose.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <iterator>
#include <string>

#include "proxy/asio_aliases.h"

namespace keygate::proxy {

class TlsStream {
 public:
  using executor_type = Executor;
  // What one attempt at an OpenSSL call came to.
  struct Attempt {
    enum class Want { nothing, read, write };
    Want want = Want::nothing;  // nothing: done (with ec set on failure)
    std::size_t bytes = 0;
    boost::system::error_code ec;
  };

  TlsStream(Socket& socket, asio::ssl::context& context);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  SSL* native_handle() { return ssl_; }
  executor_type get_executor() { return socket_.get_executor(); }

  // Bytes are already buffered (decrypted, a whole record, or prefetched): a read needs no
  // socket wait.
  bool has_buffered_input() const { return prefetched_.size() > 0 || SSL_has_pending(ssl_) == 1; }
  // Bytes the caller read from the socket itself (an idle connection's next record, read
  // without the epoll re-arm a wait costs): OpenSSL takes them before it reads the socket
  // again. They must stay in place, and the socket unread, while has_buffered_input().
  void prefetched(asio::const_buffer bytes) { prefetched_ = bytes; }

  // Non-blocking: what can be read or written now; would_block when it would have to wait.
  // After write_now would_block, the same bytes must be offered again (write_rest does).
  std::size_t read_now(asio::mutable_buffer buffer, boost::system::error_code& ec) {
    return now(attempt_read(buffer), ec);
  }
  template <class Buffers>
  std::size_t write_now(const Buffers& buffers, boost::system::error_code& ec) {
    return now(attempt_write(flatten(buffers)), ec);
  }

  // Sends close_notify if the socket takes it now; never waits (a deliberate close of an
  // idle connection: the peer learns it was not cut).
  void send_close_notify();

  template <class Token>
  auto async_handshake(asio::ssl::stream_base::handshake_type type, Token&& token) {
    type == asio::ssl::stream_base::client ? SSL_set_connect_state(ssl_)
                                           : SSL_set_accept_state(ssl_);
    return async_attempts<void(boost::system::error_code)>([this] { return attempt_handshake(); },
                                                           std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    const asio::mutable_buffer first = *asio::buffer_sequence_begin(buffers);
    return async_attempts<void(boost::system::error_code, std::size_t)>(
        [this, first] { return attempt_read(first); }, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    // Flattened once: a retry after a wait offers OpenSSL the same bytes, as it requires.
    const asio::const_buffer flat = flatten(buffers);
    return async_attempts<void(boost::system::error_code, std::size_t)>(
        [this, flat] { return attempt_write(flat); }, std::forward<Token>(token));
  }

  template <class Token>
  auto async_shutdown(Token&& token) {
    return async_attempts<void(boost::system::error_code)>([this] { return attempt_shutdown(); },
                                                           std::forward<Token>(token));
  }

  // The largest write assembled from several buffers: one TLS record's worth of plaintext.
  static constexpr std::size_t kFlattenBytes = 16 * 1024;

 private:
  Attempt attempt_read(asio::mutable_buffer buffer);
  Attempt attempt_write(asio::const_buffer buffer);
  Attempt attempt_handshake();
  Attempt attempt_shutdown();
  Attempt classify(int result);
  static std::size_t now(const Attempt& attempt, boost::system::error_code& ec);

  // A single buffer as it is; several copied into scratch_ up to kFlattenBytes.
  template <class Buffers>
  asio::const_buffer flatten(const Buffers& buffers) {
    auto it = asio::buffer_sequence_begin(buffers);
    const auto end = asio::buffer_sequence_end(buffers);
    while (it != end && asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const asio::const_buffer first(*it);
    if (std::next(it) == end || first.size() >= kFlattenBytes) return first;
    scratch_.clear();
    for (; it != end && scratch_.size() < kFlattenBytes; ++it) {
      const asio::const_buffer piece(*it);
      scratch_.append(static_cast<const char*>(piece.data()),
                      std::min(piece.size(), kFlattenBytes - scratch_.size()));
    }
    return asio::buffer(scratch_);
  }

  // Runs `attempt` until it no longer wants to wait, waiting for the socket in between. A
  // result available at once is delivered through the event loop (a zero-byte read), never
  // from inside the initiating call.
  template <class Signature, class Step, class Token>
  auto async_attempts(Step step, Token&& token) {
    return asio::async_compose<Token, Signature>(
        [this, step, started = false, result = Attempt{}](
            auto& self, boost::system::error_code ec = {}, std::size_t = 0) mutable {
          if (started && ec) return finish<Signature>(self, ec, 0);  // the wait failed
          if (!started || result.want != Attempt::Want::nothing) result = step();
          const bool first = !started;
          started = true;
          switch (result.want) {
            case Attempt::Want::read:
              return socket_.async_wait(Socket::wait_read, std::move(self));
            case Attempt::Want::write:
              return socket_.async_wait(Socket::wait_write, std::move(self));
            case Attempt::Want::nothing:
              if (first) {
                result.want = Attempt::Want::nothing;
                return socket_.async_read_some(asio::mutable_buffer(), std::move(self));
              }
              return finish<Signature>(self, result.ec, result.bytes);
          }
        },
        token, socket_);
  }

  template <class Signature, class Self>
  static void finish(Self& self, const boost::system::error_code& ec, std::size_t bytes) {
    if constexpr (std::is_same_v<Signature, void(boost::system::error_code)>) {
      self.complete(ec);
    } else {
      self.complete(ec, bytes);
    }
  }

  void release_scratch();

  Socket& socket_;
  SSL* ssl_;
  std::string scratch_;            // flattened multi-buffer writes
  asio::const_buffer prefetched_;  // not yet given to OpenSSL, see prefetched()
};

}  // namespace keygate::proxy
