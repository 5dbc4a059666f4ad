// One worker thread: its own single-threaded io_context, its own upstream pools and access-log
// buffer, and the sessions it serves. Nothing here is shared between workers except the
// read-only snapshot and the process-wide ServerState, so the data path takes no locks.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <unordered_set>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/asio_aliases.h"
#include "proxy/proxy_metrics.h"
#include "proxy/request_scratch.h"
#include "proxy/snapshot.h"
#include "proxy/upstream_pool.h"

namespace keygate::proxy {

class HttpSession;
struct WorkerServices;

// Process-wide state every worker reads.
struct ServerState {
  ServerState() {
    // Read at scrape time: a gauge updated per request would cost two CAS loops each.
    metrics.registry.callback_gauge("keygate_requests_in_flight", "Requests being handled",
                                    [this] { return double(in_flight.load()); });
  }
  std::atomic<bool> draining{false};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> connections{0};
  ProxyMetrics metrics;
};

class Worker {
 public:
  Worker(int index, ServerState& state, std::shared_ptr<AccessLogSink> access_log);
  ~Worker();

  asio::io_context& io() { return io_; }
  int index() const { return index_; }
  ServerState& state() { return state_; }

  void start();  // runs the io_context on a new thread
  void stop();   // stops the io_context; join() waits for the thread
  void join();

  // Any thread: hands the worker a new configuration snapshot.
  void install_snapshot(SnapshotPtr snapshot);
  // Any thread: close keep-alive connections that sit idle between requests.
  void close_idle_sessions();

  // Worker thread only.
  const SnapshotPtr& snapshot() const { return snapshot_; }
  std::shared_ptr<UpstreamPool> pool(std::size_t upstream_index) const {
    return pools_[upstream_index];
  }
  AccessLogBuffer& access_log() { return access_log_; }
  // Body relay buffers, lent to a request for as long as it moves a body: an idle keep-alive
  // connection then holds none (they are most of what a connection would cost), and the ones
  // given back are reused rather than allocated per request.
  static constexpr std::size_t kRelayBufferBytes = 64 * 1024;
  std::unique_ptr<char[]> take_relay_buffer() {
    if (spare_relay_buffers_.empty()) return std::make_unique<char[]>(kRelayBufferBytes);
    auto buffer = std::move(spare_relay_buffers_.back());
    spare_relay_buffers_.pop_back();
    return buffer;
  }
  void give_back_relay_buffer(std::unique_ptr<char[]> buffer) {
    if (buffer && spare_relay_buffers_.size() < kMaxSpareRelayBuffers)
      spare_relay_buffers_.push_back(std::move(buffer));
  }
  // The same for a request's scratch (request_scratch.h); it comes back emptied.
  std::unique_ptr<RequestScratch> take_request_scratch() {
    if (spare_request_scratch_.empty()) return std::make_unique<RequestScratch>();
    auto scratch = std::move(spare_request_scratch_.back());
    spare_request_scratch_.pop_back();
    return scratch;
  }
  void give_back_request_scratch(std::unique_ptr<RequestScratch> scratch) {
    if (!scratch || spare_request_scratch_.size() >= kMaxSpareRequestScratch) return;
    scratch->rate_limit_fields.clear();
    spare_request_scratch_.push_back(std::move(scratch));
  }
  WorkerServices* services() const { return services_.get(); }
  void set_services(std::shared_ptr<WorkerServices> services) { services_ = std::move(services); }
  void add_session(HttpSession* session) { sessions_.insert(session); }
  void remove_session(HttpSession* session) { sessions_.erase(session); }

 private:
  void apply_snapshot(SnapshotPtr snapshot);
  // Every kTick: deadline sweep over the sessions; the access log is flushed too.
  void schedule_tick();

  int index_;
  ServerState& state_;
  // One thread runs it and every socket and timer on it is used only from that thread (the
  // server hands accepted connections over as bare descriptors), so the reactor's per-socket
  // locks can go; the scheduler keeps its lock, as other threads post to it.
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  SnapshotPtr snapshot_;
  std::vector<std::shared_ptr<UpstreamPool>> pools_;  // parallel to snapshot config upstreams
  AccessLogBuffer access_log_;
  std::unique_ptr<asio::steady_timer> tick_timer_;
  std::uint64_t ticks_ = 0;
  std::shared_ptr<WorkerServices> services_;
  std::unordered_set<HttpSession*> sessions_;
  // Enough for the requests one worker moves bodies for at once in a busy moment; beyond that
  // memory goes back to the heap (4 MiB at most per worker).
  static constexpr std::size_t kMaxSpareRelayBuffers = 64;
  std::vector<std::unique_ptr<char[]>> spare_relay_buffers_;
  static constexpr std::size_t kMaxSpareRequestScratch = 256;
  std::vector<std::unique_ptr<RequestScratch>> spare_request_scratch_;
};

}  // namespace keygate::proxy
