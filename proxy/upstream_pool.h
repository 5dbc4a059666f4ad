// Keep-alive connections to one upstream, owned by one worker thread (no locking).
//
// The pool bounds the number of connections it has open (idle + in use) at
// max_connections; a request that finds the pool full waits up to connect_timeout for
// a connection to come back.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <deque>
#include <list>
#include <memory>

#include "conf/config.h"
#include "proxy/asio_aliases.h"
#include "proxy/coarse_clock.h"
#include "proxy/proxy_metrics.h"
#include "proxy/stream.h"
#include "proxy/tls_client_context.h"

namespace keygate::proxy {

// One read of an https upstream's response records: a small response's in one go.
inline constexpr std::size_t kUpstreamTlsInputBytes = 4096;

struct UpstreamConnection {
  explicit UpstreamConnection(const Executor& ex) : socket(ex) {}
  // TCP, or TLS over it for https upstreams: the session's deadline sweep bounds every
  // operation on it.
  Stream socket;
  boost::beast::flat_buffer buffer;
  // TLS: response records as read from the socket, before OpenSSL decrypts them (allocated on
  // first use; see prefetch_tls_records in http_session.cc). OpenSSL reads them from here, so
  // they live as long as the connection.
  std::unique_ptr<char[]> tls_input;
  bool reused = false;  // it served a request before: a failure may just mean it went stale
  CoarseClock::time_point idle_since;
};

enum class AcquireError { none, refused, timeout, pool_full, tls };

struct Acquired {
  std::unique_ptr<UpstreamConnection> connection;
  AcquireError error = AcquireError::none;
};

class UpstreamPool : public std::enable_shared_from_this<UpstreamPool> {
 public:
  // `metrics`: where TLS handshakes are counted (null in tests that do not look).
  UpstreamPool(Executor executor, conf::UpstreamConfig config, ProxyMetrics* metrics = nullptr);

  // A pooled idle connection, or null; no suspension, so the common case costs no coroutine.
  std::unique_ptr<UpstreamConnection> take_idle();
  // `fresh`: skip idle connections (used to retry after a stale one failed).
  awaitable<Acquired> acquire(bool fresh = false);
  // Hands a connection back; `reusable` when its last exchange ended cleanly with keep-alive.
  void release(std::unique_ptr<UpstreamConnection> connection, bool reusable);

  const conf::UpstreamConfig& config() const { return config_; }
  std::size_t open_connections() const { return open_; }
  std::size_t idle_connections() const { return idle_.size(); }
  // Drops every idle connection (reload, shutdown).
  void close_idle();

 private:
  awaitable<Acquired> connect();
  // The TLS handshake of a new connection (https upstreams), within `deadline`.
  awaitable<AcquireError> handshake(UpstreamConnection& connection,
                                    std::chrono::steady_clock::time_point deadline);
  void log_tls_failure(const TlsFailure& failure);
  // A connection the pool closes by choice (aged, surplus, reload): close_notify first.
  void close(std::unique_ptr<UpstreamConnection> connection);

  Executor executor_;
  conf::UpstreamConfig config_;
  std::deque<std::unique_ptr<UpstreamConnection>> idle_;  // most recently used at the back
  std::size_t open_ = 0;
  std::list<Timer*> waiters_;              // requests waiting for the pool to have room
  std::unique_ptr<TlsClientContext> tls_;  // https upstreams
  std::string tls_error_;                  // why tls_ could not be made
  CoarseClock::time_point tls_logged_at_{};
  std::uint64_t tls_failures_unlogged_ = 0;
  Counter* full_handshakes_ = nullptr;  // keygate_upstream_tls_handshakes_total{resumed=...}
  Counter* resumed_handshakes_ = nullptr;
};

}  // namespace keygate::proxy
