#include "proxy/server.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

#include "conf/config_loader.h"
#include "proxy/admin_server.h"
#include "proxy/cpu_quota.h"
#include "proxy/dir_watcher.h"
#include "proxy/http_session.h"
#include "proxy/log.h"
#include "proxy/plan_summary.h"
#include "proxy/restart_settings.h"
#include "proxy/startup_checks.h"
#include "proxy/store_outage.h"
#include "proxy/tls_server_context.h"
#include "proxy/worker.h"
#include "proxy/worker_services.h"

namespace keygate::proxy {
namespace {

// How often the store's reachability is looked at for the outage log and /readyz.
constexpr auto kStorePollInterval = std::chrono::milliseconds(250);

std::string json_string_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) out += (out.size() > 1 ? ",\"" : "\"") + item + "\"";
  return out + "]";
}

std::string comma_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The listening line is a contract with tests and orchestration scripts: keep its shape
// (msg "listening", listener, address, and port as a number).
void log_listening(std::string_view listener, const std::string& address, std::uint16_t port) {
  log_info("listening", {{"listener", listener}, {"address", address}, {"port", port}});
}

// A descriptor owned by nobody else yet: closed on destruction unless released.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void release() { fd_ = -1; }

 private:
  int fd_;
};

class Server {
 public:
  Server(std::string config_path, conf::ConfigPtr config)
      : config_path_(std::move(config_path)),
        config_(std::move(config)),
        started_config_(config_),
        config_text_(read_file(config_path_)) {
    state_.metrics.registry.callback_gauge(
        "keygate_config_reload_pending_restart",
        "Settings changed by a reload that only a restart applies (0: the file is in force)",
        [this] { return double(pending_restart_count_.load()); });
    state_.metrics.registry.callback_gauge(
        "keygate_store_reachable", "1 while the key and rate-limit store answers, 0 in an outage",
        [this] { return store_outage_.in_outage() ? 0.0 : 1.0; });
  }

  int run() {
    std::string error;
    auto sink = config_->access_log.enabled ? AccessLogSink::open(config_->access_log.path, &error)
                                            : nullptr;
    if (config_->access_log.enabled && !sink) {
      log_error("cannot start", {{"reason", error}});
      return 1;
    }
    services_ = SharedServices::create(*config_, state_.metrics, &error);
    if (!services_) {
      log_error("cannot start", {{"reason", error}});
      return 1;
    }

    // Before any thread starts, so an early SIGTERM is a drain and not a kill.
    asio::signal_set signals(control_, SIGTERM, SIGINT, SIGHUP);
    wait_signal(signals);

    const WorkerCount workers =
        choose_worker_count(config_->threads, "/sys/fs/cgroup", "/proc/self/cgroup",
                            std::thread::hardware_concurrency());
    const int threads = workers.threads;
    log_info("workers", {{"threads", threads}, {"from", workers.source}});
    auto snapshot = std::make_shared<const Snapshot>(config_, state_.metrics);
    for (int i = 0; i < threads; ++i) {
      auto worker = std::make_unique<Worker>(i, state_, sink);
      worker->install_snapshot(snapshot);
      worker->set_services(services_->for_worker(worker->io(), config_));
      workers_.push_back(std::move(worker));
    }

    if (!open_listeners(&error)) {
      log_error("cannot start", {{"reason", error}});
      return 1;
    }
    if (config_->admin.enabled && !start_admin(&error)) {
      log_error("cannot start", {{"reason", error}});
      return 1;
    }

    for (auto& worker : workers_) worker->start();
    services_->start(control_);
    watch_files();
    store_timer_ = std::make_unique<asio::steady_timer>(control_);
    poll_store();

    log_plans(config_->keys);
    log_info("ready", {{"threads", threads}});
    control_.run();
    // Closing the acceptors aborted their pending accepts, whose completions may still be
    // queued: run them now, while the workers they refer to exist.
    control_.restart();
    control_.poll();

    for (auto& worker : workers_) worker->stop();
    for (auto& worker : workers_) worker->join();
    services_->stop();
    if (admin_) admin_->stop();
    log_info("stopped");
    return 0;
  }

 private:
  bool open_listeners(std::string* error) {
    for (const auto& listener : config_->listeners) {
      boost::system::error_code ec;
      const auto ip = asio::ip::make_address(listener.address, ec);
      if (ec) {
        *error = "listener address '" + listener.address + "' is not an IP address";
        return false;
      }
      auto acceptor = std::make_unique<tcp::acceptor>(control_);
      const tcp::endpoint endpoint{ip, listener.port};
      acceptor->open(endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor->bind(endpoint, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        *error = "cannot listen on " + listener.address + ":" + std::to_string(listener.port) +
                 ": " + ec.message();
        return false;
      }
      std::shared_ptr<TlsServerContext> tls;
      if (listener.tls.enabled) {
        std::string tls_error;
        tls = TlsServerContext::create(listener.tls, &tls_error);
        if (!tls) {
          *error = "listener " + listener.address + ":" + std::to_string(listener.port) +
                   " tls: " + tls_error;
          return false;
        }
        log_info("tls certificates loaded",
                 {{"listener", listener.address + ":" + std::to_string(listener.port)},
                  {"certificates", tls->current()->describe()}});
        tls_contexts_.push_back(tls);
      }
      log_listening("proxy", listener.address, acceptor->local_endpoint().port());
      asio::co_spawn(control_, accept_loop(*acceptor, acceptors_.size(), tls), asio::detached);
      acceptors_.push_back(std::move(acceptor));
    }
    return true;
  }

  // Accepts on the control thread and deals connections to workers round robin, which
  // spreads a handful of long keep-alive connections evenly (SO_REUSEPORT hashing may not).
  awaitable<void> accept_loop(tcp::acceptor& acceptor, std::size_t listener,
                              std::shared_ptr<TlsServerContext> tls) {
    std::size_t next = 0;
    boost::system::error_code ec;
    const auto protocol = acceptor.local_endpoint(ec).protocol();
    for (;;) {
      auto& worker = *workers_[next++ % workers_.size()];
      auto [accept_ec, socket] = co_await acceptor.async_accept(nothrow_awaitable);
      ec = accept_ec;
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // EMFILE and friends: back off briefly instead of spinning.
        asio::steady_timer pause(control_, std::chrono::milliseconds(50));
        co_await pause.async_wait(nothrow_awaitable);
        continue;
      }
      if (state_.connections.load(std::memory_order_relaxed) >=
          static_cast<std::int64_t>(config_->limits.max_connections)) {
        state_.metrics.rejected.with({"connection_limit"}).inc();
        continue;  // closing the socket is the cheapest refusal
      }
      // The connection crosses to the worker as a bare descriptor and is registered there:
      // the worker's io_context runs without reactor locks, which requires that every
      // operation on its sockets happens on its own thread.
      OwnedFd fd{socket.release(ec)};
      if (ec) continue;
      asio::post(worker.io(), [&worker, protocol, listener, tls, fd = std::move(fd)]() mutable {
        Socket client(worker.io());
        boost::system::error_code assign_ec;
        client.assign(protocol, fd.get(), assign_ec);
        if (assign_ec) return;  // the descriptor closes with `fd`
        fd.release();
        HttpSession::start(worker, std::move(client), listener, std::move(tls));
      });
    }
  }

  bool start_admin(std::string* error) {
    AdminHooks hooks;
    hooks.readiness = [this] { return readiness(); };
    hooks.metrics = [this] { return state_.metrics.registry.render() + services_->metrics(); };
    admin_ = std::make_unique<AdminServer>(std::move(hooks));
    if (!admin_->listen(config_->admin.address, config_->admin.port, error)) return false;
    services_->install_admin_api(*admin_, *config_);
    log_listening("admin", config_->admin.address, admin_->port());
    admin_->start();
    return true;
  }

  void watch_files() {
    const auto dir = std::filesystem::path(config_path_).parent_path().string();
    config_watcher_ = std::make_unique<DirWatcher>(
        control_, dir.empty() ? "." : dir,
        std::vector<std::string>{std::filesystem::path(config_path_).filename().string()},
        [this] { reload(false); });
    std::string error;
    if (!config_watcher_->start(&error))
      log_warn("configuration file not watched; reload with SIGHUP", {{"reason", error}});
    watch_certificates();
  }

  // cert-manager and Kubernetes Secrets replace files by swapping symlinks: watch each
  // directory that holds a certificate or key, as for the configuration.
  void watch_certificates() {
    std::map<std::string, std::vector<std::string>> names_by_dir;
    for (const auto& tls : tls_contexts_) {
      for (const auto& file : tls->files()) {
        const std::filesystem::path path(file);
        const auto dir = path.parent_path().string();
        names_by_dir[dir.empty() ? "." : dir].push_back(path.filename().string());
      }
    }
    for (auto& [dir, names] : names_by_dir) {
      auto watcher =
          std::make_unique<DirWatcher>(control_, dir, names, [this] { reload_certificates(); });
      std::string error;
      if (!watcher->start(&error)) {
        log_warn("certificate directory not watched; reload with SIGHUP",
                 {{"directory", dir}, {"reason", error}});
        continue;
      }
      certificate_watchers_.push_back(std::move(watcher));
    }
  }

  // A pair that does not load (half-written, mismatched) keeps the previous one.
  void reload_certificates() {
    for (const auto& tls : tls_contexts_) {
      std::string error;
      if (!tls->reload(&error)) {
        state_.metrics.config_reloads_failed.inc();
        log_error("tls certificate reload refused; keeping the previous certificates",
                  {{"reason", error}});
        continue;
      }
      log_info("tls certificates reloaded", {{"certificates", tls->current()->describe()}});
    }
  }

  // Admin thread. Not ready while shutting down, or before anything can be served; a store
  // outage only when readiness.require_store says so, since every replica shares the store and
  // taking them all out turns clear 503s (and the cached keys that still work) into refused
  // connections.
  Readiness readiness() {
    Readiness r;
    const auto config = std::atomic_load(&live_config_);
    std::string details;
    if (const auto pending = pending_restart(); !pending.empty())
      details = R"("pending_restart":)" + json_string_list(pending);
    std::string store_reason;
    const bool store_ok = services_->store_reachable(&store_reason);
    details += std::string(details.empty() ? "" : ",") + R"("store":")" +
               (store_ok ? "reachable" : "unreachable") + '"';
    if (!store_ok)
      details += R"(,"store_outage_seconds":)" + seconds_text(store_outage_.duration());
    r.details = std::move(details);
    if (shutting_down_.load() || state_.draining.load()) {
      r.ready = false;
      r.reason = "shutting down";
    } else if (!services_->ready(&r.reason)) {
      r.ready = false;
    } else if (!store_ok && config && config->readiness.require_store) {
      r.ready = false;
      r.reason = store_reason + " (readiness.require_store)";
    }
    return r;
  }

  // Control thread: turns the store's reachability into one log line per outage and back.
  void poll_store() {
    std::string reason;
    std::string not_ready;
    // Before the first contact, "unreachable" is start-up, not an outage.
    if (services_->ready(&not_ready)) {
      const bool reachable = services_->store_reachable(&reason);
      store_outage_.observe(reachable, reason);
    }
    store_timer_->expires_after(kStorePollInterval);
    store_timer_->async_wait([this](boost::system::error_code ec) {
      if (!ec && !state_.draining.load()) poll_store();
    });
  }

  // SIGTERM: not ready at once, still accepting for limits.shutdown_delay (the time endpoints
  // take to stop sending here), then drain. A second SIGTERM, or SIGINT (an operator at a
  // terminal), drains at once.
  void wait_signal(asio::signal_set& signals) {
    signals.async_wait([this, &signals](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        reload(true);
        reload_certificates();
      } else if (signo == SIGTERM && !shutting_down_.load()) {
        begin_shutdown_delay();
      } else {
        begin_drain();
        return;
      }
      wait_signal(signals);
    });
  }

  void begin_shutdown_delay() {
    shutting_down_ = true;
    const auto delay = config_->limits.shutdown_delay;
    if (delay.count() == 0) {
      begin_drain();
      return;
    }
    log_info("shutting down: not ready, still accepting",
             {{"shutdown_delay_seconds", std::chrono::duration<double>(delay).count()}});
    shutdown_timer_ = std::make_unique<asio::steady_timer>(control_, delay);
    shutdown_timer_->async_wait([this](boost::system::error_code ec) {
      if (!ec) begin_drain();
    });
  }

  std::vector<std::string> pending_restart() {
    std::lock_guard lock(pending_mutex_);
    return pending_restart_;
  }

  // `forced`: SIGHUP reloads even when the file's bytes did not change.
  void reload(bool forced) {
    const auto text = read_file(config_path_);
    if (!forced && text == config_text_) return;
    auto result = conf::load_config_file(config_path_);
    if (!result.ok()) {
      state_.metrics.config_reloads_failed.inc();
      std::string reasons;
      for (const auto& e : result.errors) reasons += (reasons.empty() ? "" : "; ") + e.to_string();
      log_error("configuration reload refused; keeping the previous one", {{"errors", reasons}});
      config_text_ = text;  // do not retry the same bad bytes on every event
      return;
    }
    config_text_ = text;
    config_ = result.config;
    std::atomic_store(&live_config_, config_);
    auto snapshot = std::make_shared<const Snapshot>(config_, state_.metrics);
    for (auto& worker : workers_) worker->install_snapshot(snapshot);
    services_->reload(config_);
    state_.metrics.config_reloads_ok.inc();
    // Against what the process started with: those settings are still in force, so putting
    // one back clears it.
    auto pending = settings_needing_restart(*started_config_, *config_);
    for (const auto& setting : pending)
      log_warn(setting + ": needs a restart; not applied", {{"setting", setting}});
    pending_restart_count_ = pending.size();
    {
      std::lock_guard lock(pending_mutex_);
      pending_restart_ = pending;
    }
    if (pending.empty()) {
      log_info("configuration reloaded", {{"routes", config_->routes.size()}});
    } else {
      log_warn("configuration reloaded, except settings that need a restart",
               {{"routes", config_->routes.size()}, {"pending_restart", comma_list(pending)}});
    }
  }

  void begin_drain() {
    shutting_down_ = true;
    if (shutdown_timer_) shutdown_timer_->cancel();
    if (store_timer_) store_timer_->cancel();
    if (state_.draining.exchange(true)) return;
    log_info("draining", {{"in_flight", state_.in_flight.load()}});
    for (auto& acceptor : acceptors_) {
      boost::system::error_code ec;
      acceptor->close(ec);
    }
    config_watcher_.reset();
    certificate_watchers_.clear();
    for (auto& worker : workers_) worker->close_idle_sessions();
    drain_deadline_ = std::chrono::steady_clock::now() + config_->limits.drain_timeout;
    drain_timer_ = std::make_unique<asio::steady_timer>(control_);
    poll_drain();
  }

  void poll_drain() {
    const bool idle = state_.in_flight.load() == 0;
    if (idle || std::chrono::steady_clock::now() >= drain_deadline_) {
      if (!idle)
        log_warn("drain timeout; closing requests still in flight",
                 {{"in_flight", state_.in_flight.load()}});
      control_.stop();
      return;
    }
    // Idle keep-alive connections may have been mid-request when drain began: sweep again.
    for (auto& worker : workers_) worker->close_idle_sessions();
    drain_timer_->expires_after(std::chrono::milliseconds(20));
    drain_timer_->async_wait([this](boost::system::error_code ec) {
      if (!ec) poll_drain();
    });
  }

  std::string config_path_;
  conf::ConfigPtr config_;  // control thread
  // What settings needing a restart are compared with.
  const conf::ConfigPtr started_config_;
  conf::ConfigPtr live_config_ = config_;  // config_ for other threads (atomic_load/store)
  std::string config_text_;
  std::atomic<bool> shutting_down_{false};
  // Before every member with an I/O object on it: destroyed after them (members go in reverse
  // order), since a timer outliving its io_context's services touches freed memory.
  asio::io_context control_{1};
  std::unique_ptr<asio::steady_timer> shutdown_timer_;
  std::unique_ptr<asio::steady_timer> store_timer_;
  StoreOutage store_outage_;
  std::mutex pending_mutex_;
  std::vector<std::string> pending_restart_;
  std::atomic<std::size_t> pending_restart_count_{0};
  ServerState state_;
  std::shared_ptr<SharedServices> services_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<DirWatcher> config_watcher_;
  std::vector<std::shared_ptr<TlsServerContext>> tls_contexts_;  // one per TLS listener
  std::vector<std::unique_ptr<DirWatcher>> certificate_watchers_;
  std::unique_ptr<asio::steady_timer> drain_timer_;
  std::chrono::steady_clock::time_point drain_deadline_;
};

}  // namespace

int serve(const std::string& config_path) {
  auto result = conf::load_config_file(config_path);
  if (!result.ok()) {
    for (const auto& e : result.errors)
      log_error("configuration error", {{"error", e.to_string()}});
    return 2;
  }
  bool refused = false;
  for (const auto& problem : startup_problems(*result.config)) {
    if (problem.warning) {
      log_warn(problem.message, {{"setting", problem.setting}});
    } else if (problem.fatal) {
      log_error("cannot start", {{"setting", problem.setting}, {"reason", problem.message}});
      refused = true;
    }
  }
  if (refused) return 1;
  // A peer closing mid-write must surface as an error code, not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  Server server(config_path, result.config);
  return server.run();
}

}  // namespace keygate::proxy
