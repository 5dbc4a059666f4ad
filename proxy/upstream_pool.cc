#include "proxy/upstream_pool.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

namespace keygate::proxy {
namespace {

using namespace asio::experimental::awaitable_operators;

// Idle upstream connections older than this are not reused: servers commonly close idle
// keep-alive connections after 5-75 s and a write into a closed one is wasted work.
constexpr auto kMaxIdleAge = std::chrono::seconds(4);

// True when the peer closed an idle connection (or sent bytes nobody asked for).
bool went_stale(Socket& socket) {
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

}  // namespace

UpstreamPool::UpstreamPool(Executor executor, conf::UpstreamConfig config)
    : executor_(std::move(executor)), config_(std::move(config)) {}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle() {
  const auto now = CoarseClock::now();
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    const auto idle_for = now - connection->idle_since;
    // Every reuse is probed, however briefly the connection sat idle: bytes an upstream sent
    // unasked (after a 204, past a response's length) would otherwise be read as the next
    // client's response. One non-blocking recv is what that safety costs.
    if (idle_for < kMaxIdleAge && !went_stale(connection->socket)) {
      connection->reused = true;
      return connection;
    }
    --open_;  // dropped: closes on destruction
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
  auto result = co_await (asio::async_connect(connection->socket, endpoints, nothrow_awaitable) ||
                          timer.async_wait(nothrow_awaitable));
  if (result.index() == 1 || std::get<0>(std::get<0>(result))) {
    const bool timed_out = result.index() == 1;
    release(std::move(connection), false);
    co_return Acquired{nullptr, timed_out ? AcquireError::timeout : AcquireError::refused};
  }
  boost::system::error_code ignored;
  connection->socket.set_option(tcp::no_delay(true), ignored);
  connection->socket.non_blocking(true, ignored);  // the session writes without waiting
  co_return Acquired{std::move(connection)};
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> connection, bool reusable) {
  if (!connection) return;
  if (reusable && idle_.size() < config_.max_idle_connections && connection->socket.is_open() &&
      connection->buffer.size() == 0) {
    connection->idle_since = CoarseClock::now();
    idle_.push_back(std::move(connection));
  } else {
    --open_;
    connection.reset();
  }
  if (!waiters_.empty()) waiters_.front()->cancel();
}

void UpstreamPool::close_idle() {
  open_ -= idle_.size();
  idle_.clear();
  for (auto* waiter : waiters_) waiter->cancel();
}

}  // namespace keygate::proxy
