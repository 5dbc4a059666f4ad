// An https upstream pool against a TLS server on loopback (one io_context): connections the
// pool closes by choice end with close_notify, reconnects resume the session and are counted.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/error.hpp>
#include <memory>
#include <optional>
#include <string>

#include "proxy/proxy_metrics.h"
#include "proxy/stream.h"
#include "proxy/upstream_pool.h"
#include "tests/support/keygate_process.h"
#include "tests/support/test_certs.h"

namespace keygate::proxy {
namespace {

class UpstreamTlsTest : public ::testing::Test {
 protected:
  UpstreamTlsTest()
      : dir_(testing::make_temp_dir("keygate-upstream-tls")),
        ca_(dir_),
        cert_(ca_.server("upstream", {"127.0.0.1"})),
        server_ctx_(asio::ssl::context::tls_server),
        acceptor_(io_.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    SSL_CTX_use_certificate_chain_file(server_ctx_.native_handle(), cert_.cert.c_str());
    SSL_CTX_use_PrivateKey_file(server_ctx_.native_handle(), cert_.key.c_str(), SSL_FILETYPE_PEM);
  }

  std::shared_ptr<UpstreamPool> pool(std::size_t max_idle = 8) {
    conf::UpstreamConfig config;
    config.name = "secure";
    config.host = "127.0.0.1";
    config.port = acceptor_.local_endpoint().port();
    config.max_idle_connections = max_idle;
    config.tls.enabled = true;
    config.tls.ca_file = ca_.cert_file();
    return std::make_shared<UpstreamPool>(io_.get_executor(), config, &metrics_);
  }

  // The server's end of the next connection: accepted, handshaken, then reading until the
  // client's end; `ended` gets what ended the read (eof: close_notify; stream_truncated: a cut).
  // `greet`: the server sends one byte first (TLS 1.3 tickets go out before it).
  void serve_one(std::optional<boost::system::error_code>& ended, bool greet = false) {
    // A member coroutine with its arguments in its frame: a lambda's captures would not
    // outlive co_spawn's full expression.
    asio::co_spawn(io_, serve(&ended, greet), asio::detached);
  }
  awaitable<void> serve(std::optional<boost::system::error_code>* ended, bool greet) {
    auto [aec, socket] = co_await acceptor_.async_accept(nothrow_awaitable);
    if (aec) co_return;
    auto stream = std::make_unique<Stream>(std::move(socket));
    auto& tls = stream->start_tls(server_ctx_);
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, nothrow_awaitable);
    if (hec) co_return;
    if (greet) {
      boost::system::error_code wec;
      send_now(*stream, asio::buffer("x", 1), wec);
    }
    char byte;
    auto [rec, n] = co_await stream->async_read_some(asio::buffer(&byte, 1), nothrow_awaitable);
    *ended = rec;
    servers_.push_back(std::move(stream));  // kept open: the test decides when it ends
  }

  awaitable<void> acquire_into(UpstreamPool* pool, std::optional<Acquired>* acquired) {
    *acquired = co_await pool->acquire();
  }

  // Acquires a connection from `pool` (bounded in time).
  std::unique_ptr<UpstreamConnection> acquire(UpstreamPool& pool) {
    std::optional<Acquired> acquired;
    asio::co_spawn(io_, acquire_into(&pool, &acquired), asio::detached);
    io_.restart();
    while (!acquired && io_.run_one_for(std::chrono::seconds(10))) {
    }
    EXPECT_TRUE(acquired && acquired->connection);
    return acquired ? std::move(acquired->connection) : nullptr;
  }

  void run_until(const std::optional<boost::system::error_code>& done) {
    io_.restart();
    while (!done && io_.run_one_for(std::chrono::seconds(10))) {
    }
  }

  std::uint64_t handshakes(const std::string& resumed) {
    return metrics_.upstream_tls_handshakes.with({"secure", resumed}).value();
  }

  std::string dir_;
  testing::TestCa ca_;
  testing::CertFiles cert_;
  asio::io_context io_;
  asio::ssl::context server_ctx_;
  tcp::acceptor::rebind_executor<Executor>::other acceptor_;
  ProxyMetrics metrics_;
  std::vector<std::unique_ptr<Stream>> servers_;
};

TEST_F(UpstreamTlsTest, IdleConnectionsClosedByAReloadSayCloseNotify) {
  auto upstream = pool();
  std::optional<boost::system::error_code> ended;
  serve_one(ended);
  auto connection = acquire(*upstream);
  ASSERT_TRUE(connection);
  upstream->release(std::move(connection), true);
  EXPECT_EQ(upstream->idle_connections(), 1u);
  upstream->close_idle();
  run_until(ended);
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(*ended, asio::error::eof) << ended->message();  // close_notify, not a cut
  EXPECT_EQ(upstream->open_connections(), 0u);
}

TEST_F(UpstreamTlsTest, SurplusConnectionsSayCloseNotifyBrokenOnesDoNot) {
  auto upstream = pool(0);  // keeps none idle
  std::optional<boost::system::error_code> surplus_end;
  serve_one(surplus_end);
  auto surplus = acquire(*upstream);
  ASSERT_TRUE(surplus);
  upstream->release(std::move(surplus), true);
  run_until(surplus_end);
  ASSERT_TRUE(surplus_end.has_value());
  EXPECT_EQ(*surplus_end, asio::error::eof) << surplus_end->message();

  // Mid-exchange (not reusable): there is no clean end to announce.
  std::optional<boost::system::error_code> broken_end;
  serve_one(broken_end);
  auto broken = acquire(*upstream);
  ASSERT_TRUE(broken);
  upstream->release(std::move(broken), false);
  run_until(broken_end);
  ASSERT_TRUE(broken_end.has_value());
  EXPECT_EQ(*broken_end, asio::ssl::error::stream_truncated) << broken_end->message();
  EXPECT_EQ(upstream->open_connections(), 0u);
}

TEST_F(UpstreamTlsTest, ReconnectsResumeEvenAfterACut) {
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    SSL_CTX_set_max_proto_version(server_ctx_.native_handle(), version);
    auto upstream = pool();
    const auto full_before = handshakes("false");
    const auto resumed_before = handshakes("true");
    for (int i = 0; i < 3; ++i) {
      std::optional<boost::system::error_code> ended;
      serve_one(ended, true);
      auto connection = acquire(*upstream);
      ASSERT_TRUE(connection);
      // TLS 1.3 tickets arrive after the handshake: they are read with the first bytes.
      std::optional<boost::system::error_code> read;
      char byte;
      connection->socket.async_read_some(
          asio::buffer(&byte, 1), [&](boost::system::error_code ec, std::size_t) { read = ec; });
      run_until(read);
      ASSERT_TRUE(read && !*read);
      upstream->release(std::move(connection), false);  // cut: no close_notify
      run_until(ended);
    }
    EXPECT_EQ(handshakes("false") - full_before, 1u);
    EXPECT_EQ(handshakes("true") - resumed_before, 2u);
  }
}

}  // namespace
}  // namespace keygate::proxy
