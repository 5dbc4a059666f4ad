#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/log.h"

namespace keygate::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;

// Idle upstream connections older than this are not reused: servers commonly close idle
// keep-alive connections after 5-75 s and a write into a closed one is wasted work.
constexpr auto kMaxIdleAge = std::chrono::seconds(4);

// True when the peer closed an idle connection (or sent bytes nobody asked for, which TLS
// may hold already read).
bool went_stale(Stream& socket) {
  if (socket.has_buffered_input()) return true;
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

UpstreamPool::UpstreamPool(Executor executor, conf::UpstreamConfig config, ProxyMetrics* metrics)
    : executor_(std::move(executor)), config_(std::move(config)) {
  if (!config_.tls.enabled) return;
  if (metrics) {
    full_handshakes_ = &metrics->upstream_tls_handshakes.with({config_.name, "false"});
    resumed_handshakes_ = &metrics->upstream_tls_handshakes.with({config_.name, "true"});
  }
  if (config_.tls.insecure_skip_verify)
    log_warn(
        "INSECURE: upstream TLS certificates are not verified (insecure_skip_verify); "
        "anyone on the path can impersonate this upstream",
        {{"upstream", config_.name}});
  tls_ = TlsClientContext::create(config_, &tls_error_);
  if (!tls_)
    log_error("upstream TLS is not usable; its requests fail with 502",
              {{"upstream", config_.name}, {"reason", tls_error_}});
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle() {
  const auto now = CoarseClock::now();
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    const auto idle_for = now - connection->idle_since;
    // Every reuse is probed, however briefly the connection sat idle: bytes an upstream sent
    // unasked (after a 204, past a response's length) would otherwise be read as the next
    // client's response. One non-blocking recv is what that safety costs.
    if (went_stale(connection->socket)) {
      --open_;  // the upstream closed it (or broke it): nothing to say
      continue;
    }
    if (idle_for < kMaxIdleAge) {
      connection->reused = true;
      return connection;
    }
    close(std::move(connection));
  }
  return nullptr;
}

awaitable<Acquired> UpstreamPool::acquire(bool fresh) {
  if (!fresh) {
    if (auto connection = take_idle()) co_return Acquired{std::move(connection)};
  }
  if (config_.max_connections != 0 && open_ >= config_.max_connections) {
    // Wait for a release (which cancels our timer) or give up at the connect deadline.
    Timer timer(executor_, config_.connect_timeout);
    auto self = shared_from_this();
    auto it = waiters_.insert(waiters_.end(), &timer);
    auto [ec] = co_await timer.async_wait(nothrow_awaitable);
    waiters_.erase(it);
    if (!ec) co_return Acquired{nullptr, AcquireError::pool_full};
    if (auto connection = take_idle()) co_return Acquired{std::move(connection)};
    if (open_ >= config_.max_connections) co_return Acquired{nullptr, AcquireError::pool_full};
  }
  co_return co_await connect();
}

awaitable<Acquired> UpstreamPool::connect() {
  auto self = shared_from_this();
  ++open_;
  auto connection = std::make_unique<UpstreamConnection>(executor_);
  const auto deadline = std::chrono::steady_clock::now() + config_.connect_timeout;

  Resolver resolver(executor_);
  auto [rec, endpoints] = co_await resolver.async_resolve(
      config_.host, std::to_string(config_.port), Resolver::numeric_service, nothrow_awaitable);
  if (rec) {
    release(std::move(connection), false);
    co_return Acquired{nullptr, AcquireError::refused};
  }
  // Connecting is rare (connections are pooled): a timer of its own is affordable here.
  Timer timer(executor_, deadline);
  auto result =
      co_await (asio::async_connect(connection->socket.tcp(), endpoints, nothrow_awaitable) ||
                timer.async_wait(nothrow_awaitable));
  if (result.index() == 1 || std::get<0>(std::get<0>(result))) {
    const bool timed_out = result.index() == 1;
    release(std::move(connection), false);
    co_return Acquired{nullptr, timed_out ? AcquireError::timeout : AcquireError::refused};
  }
  boost::system::error_code ignored;
  connection->socket.set_option(tcp::no_delay(true), ignored);
  connection->socket.non_blocking(true, ignored);  // the session writes without waiting
  if (config_.tls.enabled) {
    if (auto error = co_await handshake(*connection, deadline); error != AcquireError::none) {
      release(std::move(connection), false);
      co_return Acquired{nullptr, error};
    }
  }
  co_return Acquired{std::move(connection)};
}

awaitable<AcquireError> UpstreamPool::handshake(UpstreamConnection& connection,
                                                std::chrono::steady_clock::time_point deadline) {
  if (!tls_) {
    log_tls_failure({"configuration", tls_error_});
    co_return AcquireError::tls;
  }
  auto& stream = connection.socket.start_tls(tls_->context());
  tls_->prepare(stream.native_handle());
  Timer timer(executor_, deadline);
  auto result =
      co_await (stream.async_handshake(asio::ssl::stream_base::client, nothrow_awaitable) ||
                timer.async_wait(nothrow_awaitable));
  if (result.index() == 1) co_return AcquireError::timeout;
  if (auto [ec] = std::get<0>(result); ec) {
    log_tls_failure(describe_tls_failure(stream.native_handle(), ec));
    co_return AcquireError::tls;
  }
  if (Counter* counter =
          SSL_session_reused(stream.native_handle()) ? resumed_handshakes_ : full_handshakes_)
    counter->inc();
  co_return AcquireError::none;
}

// One line per failure would flood the log when every request fails the same way: at most
// one a second per pool, saying how many were not logged.
void UpstreamPool::log_tls_failure(const TlsFailure& failure) {
  const auto now = CoarseClock::now();
  if (now - tls_logged_at_ < std::chrono::seconds(1)) {
    ++tls_failures_unlogged_;
    return;
  }
  tls_logged_at_ = now;
  log_error("upstream TLS handshake failed",
            {{"upstream", config_.name},
             {"server_name", tls_ ? tls_->server_name() : config_.host},
             {"reason", failure.reason},
             {"detail", failure.detail},
             {"not_logged_since_last", std::to_string(std::exchange(tls_failures_unlogged_, 0))}});
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> connection, bool reusable) {
  if (!connection) return;
  const bool clean = reusable && connection->socket.is_open() && connection->buffer.size() == 0;
  if (clean && idle_.size() < config_.max_idle_connections) {
    connection->idle_since = CoarseClock::now();
    idle_.push_back(std::move(connection));
  } else if (clean) {
    close(std::move(connection));  // a surplus connection, closed by choice
  } else {
    --open_;  // mid-exchange or broken: there is no clean end to announce
    connection.reset();
  }
  if (!waiters_.empty()) waiters_.front()->cancel();
}

void UpstreamPool::close(std::unique_ptr<UpstreamConnection> connection) {
  --open_;
  // One non-blocking attempt: a few bytes that an idle socket's send buffer takes at once;
  // a worker never waits on an upstream to be told goodbye.
  connection->socket.send_close_notify();
}

void UpstreamPool::close_idle() {
  for (auto& connection : idle_) connection->socket.send_close_notify();
  open_ -= idle_.size();
  idle_.clear();
  for (auto* waiter : waiters_) waiter->cancel();
}

}  // namespace keygate::proxy
