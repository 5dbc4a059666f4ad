#include "proxy/tls_stream.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

namespace keygate::proxy {
namespace {

// OpenSSL's socket BIO with one change: send(MSG_NOSIGNAL) instead of write(), so a peer that
// went away is an EPIPE error, not a SIGPIPE that ends the process unless something ignored it.
int send_without_sigpipe(BIO* bio, const char* data, int size) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  errno = 0;
  const auto sent = ::send(fd, data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  BIO_clear_retry_flags(bio);
  if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

// Where a BIO keeps its TlsStream::prefetched_ (ex data: newer OpenSSLs use the socket BIO's
// own data pointer).
int prefetched_index() {
  static const int index = BIO_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// And reads serve first what the session read from the socket itself (TlsStream::prefetched).
int read_prefetched_first(BIO* bio, char* out, int size) {
  auto* pending = static_cast<asio::const_buffer*>(BIO_get_ex_data(bio, prefetched_index()));
  if (pending != nullptr && pending->size() > 0 && size > 0) {
    const auto n = std::min(pending->size(), static_cast<std::size_t>(size));
    std::memcpy(out, pending->data(), n);
    *pending += n;
    BIO_clear_retry_flags(bio);
    return static_cast<int>(n);
  }
  static const auto socket_read = BIO_meth_get_read(BIO_s_socket());
  return socket_read(bio, out, size);
}

const BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "keygate socket");
    BIO_meth_set_write(m, send_without_sigpipe);
    BIO_meth_set_read(m, read_prefetched_first);
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return m;
  }();
  return method;
}

// SSL_get_error reads the thread's error queue, so it must hold only the next call's errors.
// ERR_clear_error walks all 16 slots (about 400 instructions, several times a request); the
// queue is nearly always empty already, which ERR_peek_error sees for a fraction of that.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

TlsStream::TlsStream(Socket& socket, asio::ssl::context& context)
    : socket_(socket), ssl_(SSL_new(context.native_handle())) {
  // OpenSSL's reads and writes must never block the worker.
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  BIO* bio = BIO_new(socket_method());
  BIO_set_fd(bio, socket_.native_handle(), BIO_NOCLOSE);  // the socket closes itself
  BIO_set_ex_data(bio, prefetched_index(), &prefetched_);
  SSL_set_bio(ssl_, bio, bio);
  // Retries after a wait may come from another address (write_rest re-flattens) and a write
  // may end after whole records; buffers are released while a connection idles (as nginx
  // does), and one recv takes whatever has arrived rather than a record header first.
  SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE |
                         SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl_, 1);
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

TlsStream::Attempt TlsStream::classify(int result) {
  Attempt attempt;
  if (result > 0) {
    attempt.bytes = static_cast<std::size_t>(result);
    return attempt;
  }
  const int sys_error = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      attempt.want = Attempt::Want::read;
      return attempt;
    case SSL_ERROR_WANT_WRITE:
      attempt.want = Attempt::Want::write;
      return attempt;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      attempt.ec = asio::error::eof;
      return attempt;
    case SSL_ERROR_SYSCALL:
      // No error queued and no errno: the peer closed the socket without close_notify.
      attempt.ec = sys_error != 0
                       ? boost::system::error_code(sys_error, asio::error::get_system_category())
                       : boost::system::error_code(asio::ssl::error::stream_truncated);
      ERR_clear_error();
      return attempt;
    case SSL_ERROR_SSL: {
      const unsigned long code = ERR_get_error();
      attempt.ec =
          ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
              ? boost::system::error_code(asio::ssl::error::stream_truncated)
              : boost::system::error_code(static_cast<int>(code), asio::error::get_ssl_category());
      ERR_clear_error();
      return attempt;
    }
    default:
      attempt.ec = asio::ssl::error::unspecified_system_error;
      ERR_clear_error();
      return attempt;
  }
}

TlsStream::Attempt TlsStream::attempt_read(asio::mutable_buffer buffer) {
  if (buffer.size() == 0) return {};
  clear_errors();
  errno = 0;
  const int size = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
  return classify(SSL_read(ssl_, buffer.data(), size));
}

TlsStream::Attempt TlsStream::attempt_write(asio::const_buffer buffer) {
  if (buffer.size() == 0) return {};
  clear_errors();
  errno = 0;
  const int size = static_cast<int>(std::min<std::size_t>(buffer.size(), INT_MAX));
  auto attempt = classify(SSL_write(ssl_, buffer.data(), size));
  if (attempt.want == Attempt::Want::nothing) release_scratch();
  return attempt;
}

TlsStream::Attempt TlsStream::attempt_handshake() {
  clear_errors();
  errno = 0;
  const int result = SSL_do_handshake(ssl_);
  return classify(result == 1 ? INT_MAX : result);  // success has no byte count
}

TlsStream::Attempt TlsStream::attempt_shutdown() {
  clear_errors();
  errno = 0;
  // 0: our close_notify is sent, the peer's not yet read, which is all we wait for.
  const int result = SSL_shutdown(ssl_);
  if (result >= 0) return {};
  auto attempt = classify(result);
  // Wanting to read means ours went out; the peer's answer is not awaited.
  if (attempt.want == Attempt::Want::read) attempt.want = Attempt::Want::nothing;
  return attempt;
}

void TlsStream::send_close_notify() {
  // Only after a finished handshake and when nothing was cut: otherwise there is no session
  // to close cleanly (and OpenSSL would refuse).
  if (!SSL_is_init_finished(ssl_) || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) != 0) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // non-blocking socket: sent now or not at all
  ERR_clear_error();
}

std::size_t TlsStream::now(const Attempt& attempt, boost::system::error_code& ec) {
  if (attempt.want != Attempt::Want::nothing) {
    ec = asio::error::would_block;
    return 0;
  }
  ec = attempt.ec;
  return attempt.bytes;
}

void TlsStream::release_scratch() {
  // Small heads stay (most responses reuse them); a large flattened body is not kept while
  // the connection idles.
  if (scratch_.capacity() > 4096) std::string().swap(scratch_);
}

}  // namespace keygate::proxy
