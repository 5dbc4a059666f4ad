#include "proxy/worker.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/http_session.h"

namespace keygate::proxy {
namespace {

bool same_tls(const conf::UpstreamTlsConfig& a, const conf::UpstreamTlsConfig& b) {
  return a.enabled == b.enabled && a.ca_file == b.ca_file && a.server_name == b.server_name &&
         a.insecure_skip_verify == b.insecure_skip_verify && a.cert_file == b.cert_file &&
         a.key_file == b.key_file && a.min_version == b.min_version;
}

bool same_upstream(const conf::UpstreamConfig& a, const conf::UpstreamConfig& b) {
  return a.host == b.host && a.port == b.port && a.connect_timeout == b.connect_timeout &&
         a.max_idle_connections == b.max_idle_connections &&
         a.max_connections == b.max_connections && same_tls(a.tls, b.tls);
}

}  // namespace

Worker::Worker(int index, ServerState& state, std::shared_ptr<AccessLogSink> access_log)
    : index_(index), state_(state), work_(io_.get_executor()) {
  access_log_.set_sink(std::move(access_log));
}

Worker::~Worker() {
  stop();
  join();
}

void Worker::start() {
  schedule_tick();
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::stop() {
  work_.reset();
  io_.stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
  access_log_.flush();
}

void Worker::install_snapshot(SnapshotPtr snapshot) {
  asio::post(io_, [this, snapshot = std::move(snapshot)]() mutable {
    apply_snapshot(std::move(snapshot));
  });
}

void Worker::apply_snapshot(SnapshotPtr snapshot) {
  // Keep pools (and their warm connections) for upstreams whose address did not change.
  std::vector<std::shared_ptr<UpstreamPool>> pools;
  for (const auto& upstream : snapshot->config->upstreams) {
    std::shared_ptr<UpstreamPool> kept;
    for (const auto& old : pools_)
      if (old->config().name == upstream.name && same_upstream(old->config(), upstream)) kept = old;
    pools.push_back(
        kept ? kept
             : std::make_shared<UpstreamPool>(io_.get_executor(), upstream, &state_.metrics));
  }
  for (const auto& old : pools_)
    if (std::find(pools.begin(), pools.end(), old) == pools.end()) old->close_idle();
  pools_ = std::move(pools);
  snapshot_ = std::move(snapshot);
}

void Worker::close_idle_sessions() {
  asio::post(io_, [this] {
    for (auto* session : sessions_) session->close_if_idle();
    for (auto& pool : pools_) pool->close_idle();
  });
}

void Worker::schedule_tick() {
  // Deadlines fire up to one tick late; that is the price of not arming a timer per read.
  static constexpr auto kTick = std::chrono::milliseconds(100);
  if (!tick_timer_) tick_timer_ = std::make_unique<asio::steady_timer>(io_);
  tick_timer_->expires_after(kTick);
  tick_timer_->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto now = CoarseClock::now();
    for (auto* session : sessions_) session->check_deadline(now);
    if (++ticks_ % 2 == 0) access_log_.flush();
    schedule_tick();
  });
}

}  // namespace keygate::proxy
