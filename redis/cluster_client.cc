#include "redis/cluster_client.h"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <charconv>
#include <map>
#include <vector>

#include "redis/cluster_slot.h"
#include "redis/owned_strings.h"

namespace keygate::redis {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kPeriodicRefresh = 1000ms;
constexpr auto kMinRefreshGap = 50ms;
constexpr auto kTryAgainDelay = 2ms;
constexpr int kTryAgainAttempts = 20;

bool is_tryagain(const Result& result) {
  return result.status == Status::ok && result.reply.is_error() &&
         result.reply.str.starts_with("TRYAGAIN");
}

// The caller's arguments, kept for a retry after a MOVED or ASK (the views the caller passed
// are gone once command() returns).
using OwnedArgs = OwnedStrings;

bool is_script_command_impl(std::span<const std::string_view> args) {
  if (args.empty() || args[0].size() != 6) return false;
  for (std::size_t i = 0; i < 6; ++i)
    if (std::toupper(static_cast<unsigned char>(args[0][i])) != "SCRIPT"[i]) return false;
  return true;
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

class ClusterClient final : public Client, public std::enable_shared_from_this<ClusterClient> {
 public:
  ClusterClient(boost::asio::any_io_executor executor, const conf::RedisConfig& config,
                const ClientOptions& options)
      : executor_(executor), config_(config), options_(options), timer_(executor) {
    owners_.fill(nullptr);
  }

  ~ClusterClient() override { stop(); }

  void start() override {
    if (stopped_ || started_) return;
    started_ = true;
    for (const std::string& seed : config_.cluster_seeds)
      if (auto address = parse_node_address(seed)) seeds_.push_back(node(*address));
    refresh();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    timer_.cancel();
    for (auto& [address, client] : nodes_) client->stop();
  }

  // Ready when the map covers every slot and every master holding slots is connected.
  bool connected() const override {
    if (stopped_ || !have_map_) return false;
    for (Client* master : masters_)
      if (!master->connected()) return false;
    return true;
  }

  void command(std::span<const std::string_view> args, std::chrono::milliseconds timeout,
               Callback cb) override {
    if (stopped_) return post(std::move(cb), Result{Status::cancelled, {}});
    if (is_script_command(args)) return broadcast(args, timeout, std::move(cb));
    Client* target = nullptr;
    if (auto key = routing_key(args)) {
      target = owners_[key_slot(*key)];
    } else {
      target = any_connected();
    }
    if (!target) {
      request_refresh();
      return post(std::move(cb), Result{Status::disconnected, {}});
    }
    auto deadline = Clock::now() + timeout;
    send_to(target, std::make_shared<OwnedArgs>(args), deadline, std::move(cb), true,
            kTryAgainAttempts);
  }

  ClientStats stats() const override {
    ClientStats total;
    for (const auto& [address, client] : nodes_) {
      ClientStats one = client->stats();
      total.commands += one.commands;
      total.timeouts += one.timeouts;
      total.disconnected += one.disconnected;
      total.overloaded += one.overloaded;
      total.late_replies += one.late_replies;
      total.connects += one.connects;
      total.stalls += one.stalls;
      total.pending += one.pending;
    }
    return total;
  }

  std::string last_error() const override {
    if (!last_error_.empty()) return last_error_;
    for (const auto& [address, client] : nodes_)
      if (auto error = client->last_error(); !error.empty()) return address + ": " + error;
    return {};
  }

  ClusterStats cluster_stats() const {
    ClusterStats stats = cluster_stats_;
    stats.nodes = nodes_.size();
    return stats;
  }

 private:
  // The one connection to `address`, made (and started) on first use. Connections are kept for
  // the client's life: a cluster has few nodes, and a failed master may come back as a replica.
  Client* node(const NodeAddress& address) {
    std::string name = address.to_string();
    auto found = nodes_.find(name);
    if (found != nodes_.end()) return found->second.get();
    conf::RedisConfig node_config = config_;
    node_config.host = address.host;
    node_config.port = address.port;
    node_config.cluster_seeds.clear();
    auto client = make_client(executor_, node_config, options_);
    client->start();
    Client* raw = client.get();
    nodes_.emplace(std::move(name), std::move(client));
    return raw;
  }

  Client* any_connected() const {
    for (Client* master : masters_)
      if (master->connected()) return master;
    for (Client* seed : seeds_)
      if (seed->connected()) return seed;
    return nullptr;
  }

  // Follows at most one MOVED/ASK per send, and retries a TRYAGAIN (a multi-key command or
  // script whose keys are split by a slot migration in progress) after kTryAgainDelay while the
  // deadline allows: the caller still gets exactly one reply.
  void on_reply(std::shared_ptr<OwnedArgs> saved, Clock::time_point deadline, Callback cb,
                Result result, bool may_redirect, int tryagain_left) {
    if (result.status == Status::disconnected) request_refresh();
    if (stopped_) return cb(std::move(result));
    if (is_tryagain(result) && tryagain_left > 0 && remaining(deadline) > kTryAgainDelay) {
      ++cluster_stats_.tryagain;
      auto timer = std::make_shared<boost::asio::steady_timer>(executor_, kTryAgainDelay);
      timer->async_wait([weak = weak_from_this(), timer, saved, deadline, cb = std::move(cb),
                         result = std::move(result),
                         tryagain_left](const boost::system::error_code&) mutable {
        auto self = weak.lock();
        if (!self) return cb(std::move(result));
        self->resend(std::move(saved), deadline, std::move(cb), std::move(result),
                     tryagain_left - 1);
      });
      return;
    }
    auto redirect = parse_redirect(result);
    if (!redirect || !may_redirect) return cb(std::move(result));
    auto left = remaining(deadline);
    if (left <= 0ms) return cb(Result{Status::timeout, {}});
    Client* target = node(redirect->target);
    if (!target->connected()) {
      // A node the map did not know yet: its connection is being made; the caller's next
      // command will find it.
      request_refresh();
      return cb(std::move(result));
    }
    if (redirect->ask) {
      ++cluster_stats_.ask;
      // ASKING applies to the next command on the same connection only: pipelined, it is.
      target->command({"ASKING"}, left, [](Result) {});
    } else {
      ++cluster_stats_.moved;
      owners_[redirect->slot] = target;
      request_refresh();
    }
    send_to(target, std::move(saved), deadline, std::move(cb), false, tryagain_left);
  }

  // The command again, routed by the current map (after a TRYAGAIN).
  void resend(std::shared_ptr<OwnedArgs> saved, Clock::time_point deadline, Callback cb,
              Result previous, int tryagain_left) {
    auto views = saved->views();
    auto key = routing_key(views);
    Client* target = key ? owners_[key_slot(*key)] : any_connected();
    if (!target || remaining(deadline) <= 0ms) return cb(std::move(previous));
    send_to(target, std::move(saved), deadline, std::move(cb), true, tryagain_left);
  }

  void send_to(Client* target, std::shared_ptr<OwnedArgs> saved, Clock::time_point deadline,
               Callback cb, bool may_redirect, int tryagain_left) {
    auto views = saved->views();
    target->command(views, remaining(deadline),
                    [weak = weak_from_this(), saved, deadline, cb = std::move(cb), may_redirect,
                     tryagain_left](Result result) mutable {
                      auto self = weak.lock();
                      if (!self) return cb(std::move(result));
                      self->on_reply(std::move(saved), deadline, std::move(cb), std::move(result),
                                     may_redirect, tryagain_left);
                    });
  }

  // SCRIPT LOAD / FLUSH / EXISTS on every master; answered with the first successful reply
  // (SCRIPT LOAD gives the same SHA everywhere), else with the last failure.
  void broadcast(std::span<const std::string_view> args, std::chrono::milliseconds timeout,
                 Callback cb) {
    std::vector<Client*> targets;
    for (Client* master : masters_)
      if (master->connected()) targets.push_back(master);
    if (targets.empty())
      if (Client* any = any_connected()) targets.push_back(any);
    if (targets.empty()) return post(std::move(cb), Result{Status::disconnected, {}});
    struct Gather {
      std::size_t left;
      std::optional<Result> good;
      Result last;
      Callback cb;
    };
    auto gather = std::make_shared<Gather>(Gather{targets.size(), std::nullopt, {}, std::move(cb)});
    for (Client* target : targets) {
      target->command(args, timeout, [gather](Result result) {
        if (result.ok() && !gather->good)
          gather->good = result;
        else if (!result.ok())
          gather->last = std::move(result);
        if (--gather->left == 0)
          gather->cb(gather->good ? std::move(*gather->good) : std::move(gather->last));
      });
    }
  }

  void post(Callback cb, Result result) {
    boost::asio::post(executor_, [cb = std::move(cb), result = std::move(result)]() mutable {
      cb(std::move(result));
    });
  }

  // Asks for a map refresh soon, at most one CLUSTER SLOTS in flight and one per kMinRefreshGap.
  void request_refresh() {
    if (stopped_ || refreshing_) return;
    auto earliest = last_refresh_ + kMinRefreshGap;
    if (Clock::now() >= earliest) return refresh();
    arm(earliest);
  }

  void arm(Clock::time_point when) {
    if (timer_armed_ && timer_at_ <= when) return;
    timer_armed_ = true;
    timer_at_ = when;
    timer_.expires_at(when);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock()) {
        self->timer_armed_ = false;
        self->refresh();
      }
    });
  }

  void refresh() {
    if (stopped_) return;
    if (refreshing_) return;
    last_refresh_ = Clock::now();
    Client* asked = any_connected();
    if (!asked) {
      // Nothing connected yet (start, or every node down): the node clients reconnect on their
      // own; look again shortly.
      arm(Clock::now() + std::max<Clock::duration>(config_.reconnect_min, kMinRefreshGap));
      return;
    }
    refreshing_ = true;
    asked->command({"CLUSTER", "SLOTS"}, config_.command_timeout,
                   [weak = weak_from_this()](Result result) {
                     auto self = weak.lock();
                     if (!self || self->stopped_) return;
                     self->refreshing_ = false;
                     self->apply_map(result);
                     self->arm(Clock::now() +
                               (self->have_map_ ? kPeriodicRefresh : self->config_.reconnect_min));
                   });
  }

  // CLUSTER SLOTS: [[start, end, [ip, port, id, ...], replica...], ...].
  void apply_map(const Result& result) {
    if (!result.ok() || result.reply.type != Reply::Type::array) {
      last_error_ =
          "CLUSTER SLOTS failed: " +
          (result.status != Status::ok ? std::string(to_string(result.status)) : result.reply.str);
      return;
    }
    std::array<Client*, kClusterSlots> owners;
    owners.fill(nullptr);
    std::vector<Client*> masters;
    for (const Reply& range : result.reply.elements) {
      if (range.type != Reply::Type::array || range.elements.size() < 3) continue;
      const Reply& master = range.elements[2];
      if (master.type != Reply::Type::array || master.elements.size() < 2) continue;
      std::int64_t first = range.elements[0].integer, last = range.elements[1].integer;
      std::int64_t port = master.elements[1].integer;
      if (first < 0 || last >= kClusterSlots || first > last || port <= 0 || port > 65535) continue;
      // An empty or "?" host means "the node you asked": only loopback setups do that, and the
      // seeds' host is the best answer.
      std::string host = master.elements[0].str;
      if (host.empty() || host == "?")
        host = parse_node_address(config_.cluster_seeds.front())->host;
      Client* owner = node(NodeAddress{host, static_cast<std::uint16_t>(port)});
      for (auto slot = first; slot <= last; ++slot) owners[slot] = owner;
      if (std::find(masters.begin(), masters.end(), owner) == masters.end())
        masters.push_back(owner);
    }
    bool complete = std::all_of(owners.begin(), owners.end(), [](Client* c) { return c; });
    if (!complete) {
      last_error_ = "CLUSTER SLOTS does not cover every slot";
      // Keep what is known; slots nobody serves fail at once (disconnected).
    } else {
      last_error_.clear();
    }
    owners_ = owners;
    masters_ = std::move(masters);
    have_map_ = complete;
    ++cluster_stats_.map_refreshes;
  }

  boost::asio::any_io_executor executor_;
  conf::RedisConfig config_;
  ClientOptions options_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  Clock::time_point timer_at_;
  std::map<std::string, std::shared_ptr<Client>> nodes_;  // "host:port" -> its connection
  std::vector<Client*> seeds_;
  std::vector<Client*> masters_;                 // nodes holding slots in the current map
  std::array<Client*, kClusterSlots> owners_{};  // slot -> master (into nodes_)
  bool have_map_ = false;
  bool refreshing_ = false;
  bool started_ = false;
  bool stopped_ = false;
  Clock::time_point last_refresh_;
  std::string last_error_;
  ClusterStats cluster_stats_;
};

}  // namespace

bool is_script_command(std::span<const std::string_view> args) {
  return is_script_command_impl(args);
}

std::optional<Redirect> parse_redirect(const Result& result) {
  if (result.status != Status::ok || !result.reply.is_error()) return std::nullopt;
  std::string_view text = result.reply.str;
  Redirect redirect;
  if (text.starts_with("MOVED ")) {
    text.remove_prefix(6);
  } else if (text.starts_with("ASK ")) {
    redirect.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + space, slot);
  if (ec != std::errc() || end != text.data() + space || slot >= kClusterSlots) return std::nullopt;
  redirect.slot = static_cast<std::uint16_t>(slot);
  auto target = parse_node_address(text.substr(space + 1));
  if (!target) return std::nullopt;
  redirect.target = std::move(*target);
  return redirect;
}

std::optional<NodeAddress> parse_node_address(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  // CLUSTER SLOTS / MOVED may carry "ip:port@cport" in some versions.
  if (auto at = port.find('@'); at != std::string_view::npos) port = port.substr(0, at);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value == 0 || value > 65535)
    return std::nullopt;
  return NodeAddress{std::string(host), static_cast<std::uint16_t>(value)};
}

std::shared_ptr<Client> make_cluster_client(boost::asio::any_io_executor executor,
                                            const conf::RedisConfig& config,
                                            const ClientOptions& options) {
  return std::make_shared<ClusterClient>(std::move(executor), config, options);
}

ClusterStats cluster_stats(const Client& client) {
  if (auto* cluster = dynamic_cast<const ClusterClient*>(&client)) return cluster->cluster_stats();
  return {};
}

}  // namespace keygate::redis
