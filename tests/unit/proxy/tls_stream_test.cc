// The TLS stream (OpenSSL on the socket itself) between two real loopback sockets on one
// io_context: handshakes, a head and body leaving as one record, writes larger than the send
// buffer resumed in order, close_notify, cancellation.
#include "proxy/tls_stream.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <optional>
#include <string>

#include "proxy/stream.h"
#include "tests/support/keygate_process.h"
#include "tests/support/test_certs.h"

namespace keygate::proxy {
namespace {

// Counts the application-data records a connection receives. TLS 1.2 says so in each
// record's header; TLS 1.3 sends every record as application data (session tickets too) and
// reports the real type as the inner content type.
void count_records(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl,
                   void* arg) {
  const int wanted =
      SSL_version(ssl) == TLS1_3_VERSION ? SSL3_RT_INNER_CONTENT_TYPE : SSL3_RT_HEADER;
  if (write_p == 0 && content_type == wanted && len >= 1 &&
      static_cast<const unsigned char*>(buf)[0] == SSL3_RT_APPLICATION_DATA)
    ++*static_cast<int*>(arg);
}

class TlsStreamTest : public ::testing::Test {
 protected:
  TlsStreamTest()
      : dir_(testing::make_temp_dir("keygate-tls-stream")),
        ca_(dir_),
        cert_(ca_.server("server", {"127.0.0.1"})),
        server_ctx_(asio::ssl::context::tls_server),
        client_ctx_(asio::ssl::context::tls_client),
        server_(io_.get_executor()),
        client_(io_.get_executor()) {
    SSL_CTX_use_certificate_chain_file(server_ctx_.native_handle(), cert_.cert.c_str());
    SSL_CTX_use_PrivateKey_file(server_ctx_.native_handle(), cert_.key.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(client_ctx_.native_handle(), ca_.cert_file().c_str(), nullptr);
    SSL_CTX_set_verify(client_ctx_.native_handle(), SSL_VERIFY_PEER, nullptr);
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client_.tcp().connect(acceptor.local_endpoint());
    acceptor.accept(server_.tcp());
    boost::system::error_code ec;
    for (Stream* s : {&server_, &client_}) {
      s->set_option(tcp::no_delay(true), ec);
      s->non_blocking(true, ec);
    }
  }

  // Both handshakes, run together; true when both succeeded.
  bool handshake(int version = 0) {
    auto& server = server_.start_tls(server_ctx_);
    auto& client = client_.start_tls(client_ctx_);
    if (version) {
      SSL_set_min_proto_version(client.native_handle(), version);
      SSL_set_max_proto_version(client.native_handle(), version);
    }
    SSL_set_msg_callback(client.native_handle(), count_records);
    SSL_set_msg_callback_arg(client.native_handle(), &records_);
    std::optional<boost::system::error_code> server_ec, client_ec;
    server.async_handshake(asio::ssl::stream_base::server,
                           [&](boost::system::error_code ec) { server_ec = ec; });
    client.async_handshake(asio::ssl::stream_base::client,
                           [&](boost::system::error_code ec) { client_ec = ec; });
    io_.restart();
    while ((!server_ec || !client_ec) && io_.run_one_for(std::chrono::seconds(10))) {
    }
    EXPECT_TRUE(server_ec && !*server_ec) << (server_ec ? server_ec->message() : "pending");
    EXPECT_TRUE(client_ec && !*client_ec) << (client_ec ? client_ec->message() : "pending");
    return server_ec && !*server_ec && client_ec && !*client_ec;
  }

  // Reads exactly `size` bytes on the client (bounded in time).
  std::string client_reads(std::size_t size) {
    std::string received(size, '\0');
    std::optional<boost::system::error_code> done;
    asio::async_read(client_, asio::buffer(received),
                     [&](boost::system::error_code ec, std::size_t n) {
                       done = ec;
                       received.resize(n);
                     });
    io_.restart();
    while (!done && io_.run_one_for(std::chrono::seconds(20))) {
    }
    EXPECT_TRUE(done && !*done) << (done ? done->message() : "pending");
    return received;
  }

  // A response's head and body: sent now, whole, without the event loop, as one record.
  void head_and_body_as_one_record(int version) {
    ASSERT_TRUE(handshake(version));
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
    const std::string body = "{\"ok\":true}";
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
    boost::system::error_code ec;
    EXPECT_EQ(send_now(server_, pieces, ec), head.size() + body.size());
    EXPECT_FALSE(ec) << ec.message();
    const int before = records_;
    EXPECT_EQ(client_reads(head.size() + body.size()), head + body);
    EXPECT_EQ(records_ - before, 1);
  }

  // A member coroutine with its arguments in its frame (a lambda's captures would not outlive
  // co_spawn's full expression).
  awaitable<void> write_rest_into(std::optional<boost::system::error_code>* out,
                                  std::array<asio::const_buffer, 2> pieces, std::size_t sent) {
    *out = co_await write_rest(server_, pieces, sent);
  }

  std::string dir_;
  testing::TestCa ca_;
  testing::CertFiles cert_;
  asio::io_context io_;
  asio::ssl::context server_ctx_;
  asio::ssl::context client_ctx_;
  Stream server_;
  Stream client_;
  int records_ = 0;
};

TEST_F(TlsStreamTest, HeadAndBodyLeaveAsOneRecordTls12) {
  head_and_body_as_one_record(TLS1_2_VERSION);
}

TEST_F(TlsStreamTest, HeadAndBodyLeaveAsOneRecordTls13) {
  head_and_body_as_one_record(TLS1_3_VERSION);
}

TEST_F(TlsStreamTest, WritesLargerThanTheSendBufferArriveWholeAndInOrder) {
  ASSERT_TRUE(handshake());
  boost::system::error_code ec;
  server_.set_option(asio::socket_base::send_buffer_size(4096), ec);  // fixed: no autotuning
  const std::string head = "HEAD:";
  std::string body(300 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
  std::size_t sent = 0;
  // What is left, until the socket stops taking it: a retry must then offer the same bytes.
  for (int i = 0; i < 1000 && sent < head.size() + body.size(); ++i) {
    boost::beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(pieces);
    rest.consume(sent);
    const auto n = send_now(server_, rest, ec);
    ASSERT_FALSE(ec) << ec.message();
    if (n == 0) break;
    sent += n;
  }
  ASSERT_LT(sent, head.size() + body.size()) << "the send buffer took everything";
  std::optional<boost::system::error_code> rest_ec;
  asio::co_spawn(io_, write_rest_into(&rest_ec, pieces, sent), asio::detached);
  // (Not EXPECT_EQ: a difference would print 300 KiB.)
  EXPECT_TRUE(client_reads(head.size() + body.size()) == head + body);
  ASSERT_TRUE(rest_ec.has_value());
  EXPECT_FALSE(*rest_ec) << rest_ec->message();
}

TEST_F(TlsStreamTest, CloseNotifyIsAnEndAndACutIsNot) {
  ASSERT_TRUE(handshake());
  server_.send_close_notify();
  char byte;
  std::optional<boost::system::error_code> read_ec;
  client_.async_read_some(asio::buffer(&byte, 1),
                          [&](boost::system::error_code ec, std::size_t) { read_ec = ec; });
  io_.restart();
  while (!read_ec && io_.run_one_for(std::chrono::seconds(10))) {
  }
  ASSERT_TRUE(read_ec.has_value());
  EXPECT_EQ(*read_ec, asio::error::eof) << read_ec->message();
}

TEST_F(TlsStreamTest, ACutWithoutCloseNotifyIsTruncation) {
  ASSERT_TRUE(handshake());
  boost::system::error_code ec;
  server_.close(ec);
  char byte;
  std::optional<boost::system::error_code> read_ec;
  client_.async_read_some(asio::buffer(&byte, 1),
                          [&](boost::system::error_code ec, std::size_t) { read_ec = ec; });
  io_.restart();
  while (!read_ec && io_.run_one_for(std::chrono::seconds(10))) {
  }
  ASSERT_TRUE(read_ec.has_value());
  EXPECT_EQ(*read_ec, asio::ssl::error::stream_truncated) << read_ec->message();
}

TEST_F(TlsStreamTest, ReadsWaitWithoutSpinningAndCancel) {
  ASSERT_TRUE(handshake());
  char byte;
  boost::system::error_code ec;
  // Nothing sent: a read now would block, and a pending read waits until cancelled.
  EXPECT_EQ(client_.read_some_now(asio::buffer(&byte, 1), ec), 0u);
  EXPECT_EQ(ec, asio::error::would_block);
  EXPECT_FALSE(client_.has_buffered_input());
  std::optional<boost::system::error_code> read_ec;
  client_.async_read_some(asio::buffer(&byte, 1),
                          [&](boost::system::error_code ec, std::size_t) { read_ec = ec; });
  io_.restart();
  // Handlers that run while the read waits (a spinning read would keep running them).
  std::size_t ran = 0;
  for (int i = 0; i < 5; ++i) ran += io_.poll();
  EXPECT_FALSE(read_ec.has_value());
  EXPECT_LE(ran, 2u);
  client_.cancel(ec);
  while (!read_ec && io_.run_one_for(std::chrono::seconds(10))) {
  }
  ASSERT_TRUE(read_ec.has_value());
  EXPECT_EQ(*read_ec, asio::error::operation_aborted);
}

TEST_F(TlsStreamTest, BufferedBytesAreReadWithoutTheSocket) {
  ASSERT_TRUE(handshake());
  const std::string message(1000, 'm');
  boost::system::error_code ec;
  ASSERT_EQ(send_now(server_, asio::buffer(message), ec), message.size());
  // The first read takes part of a record; the rest is buffered in OpenSSL, not the socket.
  std::string first = client_reads(100);
  EXPECT_EQ(first, message.substr(0, 100));
  EXPECT_TRUE(client_.has_buffered_input());
  char rest[2000];
  const auto n = client_.read_some_now(asio::buffer(rest), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(rest, n), message.substr(100));
}

}  // namespace
}  // namespace keygate::proxy
