// Client: commands pipelined on one AsyncConnection, each with a deadline.
//
// hiredis answers commands in the order they were sent, so the pending commands are a FIFO
// that mirrors hiredis' own callback list one to one. A command that times out stays in the
// FIFO, marked done, until its late reply (or the disconnect) pops it; that keeps the two lists
// aligned. Deadlines live in DeadlineQueues under a single steady timer, and completions are
// handed to the executor in batches: one post per read, not one per reply.
//
// Commands issued while the very first connection attempt is under way (a request that
// arrives just after start-up) wait for it, within their own deadline. Once an attempt has
// failed, or a connection was up and dropped, commands fail at once: an outage is answered
// fast (stale cache entries, fail-open limits) instead of after every command's timeout.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "redis/async_connection.h"
#include "redis/cluster_client.h"
#include "redis/deadline_queues.h"
#include "redis/redis_client.h"
#include "redis/reply_convert.h"
#include "redis/resp_command.h"

namespace keygate::redis {
namespace {

using Clock = std::chrono::steady_clock;

class AsyncClient final : public Client, public std::enable_shared_from_this<AsyncClient> {
 public:
  AsyncClient(boost::asio::any_io_executor executor, const conf::RedisConfig& config,
              const ClientOptions& options)
      : executor_(executor),
        options_(options),
        follows_sentinel_(!config.sentinels.empty()),
        connection_(AsyncConnection::create(executor, config, connection_hooks())),
        timer_(executor) {}

  ~AsyncClient() override { stop(); }

  void start() override {
    if (!stopped_) connection_->start();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    timer_.cancel();
    // hiredis runs every pending callback with a null reply: on_reply() cancels each entry.
    connection_->stop();
    deadlines_.clear();
    fail_held(Status::cancelled);
  }

  bool connected() const override { return !stopped_ && connection_->ready(); }

  void command(std::span<const std::string_view> args, std::chrono::milliseconds timeout,
               Callback cb) override {
    if (stopped_) return fail(std::move(cb), Status::cancelled);
    redisAsyncContext* context = connection_->context();
    const bool hold = !context && connection_->first_attempt_pending();
    if (!context && !hold) {
      ++stats_.disconnected;
      return fail(std::move(cb), Status::disconnected);
    }
    if (fifo_.size() + held_.size() >= options_.max_pending) {
      ++stats_.overloaded;
      return fail(std::move(cb), Status::overloaded);
    }
    if (args.empty()) {
      Result result;
      result.reply.type = Reply::Type::error;
      result.reply.str = "ERR empty command";
      return complete(std::move(cb), std::move(result));
    }
    const auto now = Clock::now();
    if (hold) {
      std::string command;
      append_command(command, args);
      held_.push_back(Held{std::move(command), std::move(cb), timeout, now + timeout});
      if (held_.back().deadline < armed_for_) arm_timer(held_.back().deadline);
      return;
    }
    formatted_.clear();
    append_command(formatted_, args);
    send_formatted(context, formatted_, std::move(cb), now, timeout, now + timeout);
    if (formatted_.capacity() > kMaxKeptCommandBytes) std::string().swap(formatted_);
  }

  ClientStats stats() const override {
    ClientStats stats = stats_;
    stats.connects = connection_->connects();
    stats.pending = fifo_.size() + held_.size();
    return stats;
  }

  std::string last_error() const override { return connection_->last_error(); }

 private:
  struct Entry {
    Callback cb;
    Clock::time_point sent;
    std::uint16_t queue;
    bool done;  // timed out: its reply, when it comes, is dropped
  };
  using Completion = std::pair<Callback, Result>;
  // A command waiting for the first connection, formatted because the caller's views die.
  struct Held {
    std::string command;
    Callback cb;
    std::chrono::milliseconds timeout;  // as given: the deadline queue of its kind of call
    Clock::time_point deadline;
  };

  AsyncConnection::Hooks connection_hooks() {
    AsyncConnection::Hooks hooks;
    // The connection is this client's own and stopped by its destructor: `this` outlives it.
    hooks.on_ready = [this](redisAsyncContext* context) { send_held(context); };
    hooks.on_attempt_failed = [this] { fail_held(Status::disconnected); };
    return hooks;
  }

  void send_formatted(redisAsyncContext* context, std::string_view command, Callback cb,
                      Clock::time_point sent_at, std::chrono::milliseconds timeout,
                      Clock::time_point deadline) {
    if (redisAsyncFormattedCommand(context, &on_reply_hook, this, command.data(), command.size()) !=
        REDIS_OK) {
      ++stats_.disconnected;  // hiredis is already tearing the context down
      return fail(std::move(cb), Status::disconnected);
    }
    ++stats_.commands;
    const std::uint64_t seq = front_seq_ + fifo_.size();
    const auto queue = deadlines_.add(timeout, deadline, seq);
    fifo_.push_back(Entry{std::move(cb), sent_at, queue, false});
    if (deadline < armed_for_) arm_timer(deadline);
  }

  // The first connection is ready: what waited for it goes out in the order it came.
  void send_held(redisAsyncContext* context) {
    const auto now = Clock::now();
    for (Held& held : std::exchange(held_, {})) {
      if (held.deadline <= now) {
        ++stats_.timeouts;
        complete(std::move(held.cb), Result{Status::timeout, {}});
      } else {
        send_formatted(context, held.command, std::move(held.cb), now, held.timeout, held.deadline);
      }
    }
  }

  void fail_held(Status status) {
    for (Held& held : std::exchange(held_, {})) {
      if (status == Status::disconnected) ++stats_.disconnected;
      fail(std::move(held.cb), status);
    }
  }

  // Held commands whose deadline passed before the first connection was ready.
  void expire_held(Clock::time_point now) {
    std::erase_if(held_, [&](Held& held) {
      if (held.deadline > now) return false;
      ++stats_.timeouts;
      complete(std::move(held.cb), Result{Status::timeout, {}});
      return true;
    });
  }

  std::optional<Clock::time_point> earliest_held() const {
    std::optional<Clock::time_point> earliest;
    for (const Held& held : held_)
      if (!earliest || held.deadline < *earliest) earliest = held.deadline;
    return earliest;
  }

  static void on_reply_hook(redisAsyncContext*, void* reply, void* self) {
    static_cast<AsyncClient*>(self)->on_reply(static_cast<const redisReply*>(reply));
  }

  // `reply` is null when hiredis tears the context down (disconnect or stop()).
  void on_reply(const redisReply* reply) {
    if (fifo_.empty()) return;  // cannot happen: one entry per hiredis callback
    Entry entry = std::move(fifo_.front());
    fifo_.pop_front();
    std::uint64_t seq = front_seq_++;
    if (reply) watch_for_stall();
    // A master demoted under us (a failover whose announcement we missed) refuses writes
    // without running them: find the master again.
    if (reply && follows_sentinel_ && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).starts_with("READONLY"))
      connection_->restart_now("the server refused a write (READONLY): no longer the master");
    if (entry.done) {
      if (reply) ++stats_.late_replies;
      return;
    }
    deadlines_.remove_if_first(entry.queue, seq);
    Result result;
    if (reply) {
      result.reply = to_reply(*reply);
    } else if (stopped_) {
      result.status = Status::cancelled;
    } else {
      result.status = Status::disconnected;
      ++stats_.disconnected;
    }
    complete(std::move(entry.cb), std::move(result));
  }

  void arm_timer(Clock::time_point deadline) {
    armed_for_ = deadline;
    timer_.expires_at(deadline);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // re-armed for an earlier deadline, or stopped
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    armed_for_ = Clock::time_point::max();
    if (stopped_) return;
    auto now = Clock::now();
    expire_held(now);
    deadlines_.pop_due(now, [this](std::uint64_t seq) {
      if (seq < front_seq_ || seq - front_seq_ >= fifo_.size()) return;  // answered already
      Entry& entry = fifo_[seq - front_seq_];
      if (entry.done) return;
      entry.done = true;
      ++stats_.timeouts;
      complete(std::move(entry.cb), Result{Status::timeout, {}});
      entry.cb = nullptr;
    });
    if (auto stall = stall_check_at(); stall && *stall <= now) {
      ++stats_.stalls;
      // Fails every pending command (disconnected) before returning, then reconnects.
      connection_->drop("no reply for " + std::to_string(options_.stall_timeout.count()) +
                        " ms; connection presumed dead");
    }
    auto next = deadlines_.earliest();
    if (auto stall = stall_check_at(); stall && (!next || *stall < *next)) next = stall;
    if (auto held = earliest_held(); held && (!next || *held < *next)) next = held;
    if (next) arm_timer(*next);
  }

  // Only an oldest command that already timed out can mean a stall: one still within its own
  // deadline (a long BLPOP) is simply waiting.
  std::optional<Clock::time_point> stall_check_at() const {
    if (fifo_.empty() || !fifo_.front().done) return std::nullopt;
    return fifo_.front().sent + options_.stall_timeout;
  }

  // The new oldest command may have timed out already while no deadline is left to wake the
  // timer: make sure the stall check still happens.
  void watch_for_stall() {
    if (armed_for_ != Clock::time_point::max() || stopped_) return;
    if (auto stall = stall_check_at()) arm_timer(*stall);
  }

  void fail(Callback cb, Status status) { complete(std::move(cb), Result{status, {}}); }

  // Never runs `cb` here: callers may hold state that the callback would change.
  void complete(Callback cb, Result result) {
    completions_.emplace_back(std::move(cb), std::move(result));
    if (flush_posted_) return;
    auto self = weak_from_this().lock();
    if (!self) {
      // Being destroyed: nothing may refer to this client any more.
      for (auto& [callback, value] : completions_)
        boost::asio::post(executor_,
                          [callback = std::move(callback), value = std::move(value)]() mutable {
                            callback(std::move(value));
                          });
      completions_.clear();
      return;
    }
    flush_posted_ = true;
    boost::asio::post(executor_, [self = std::move(self)] { self->run_completions(); });
  }

  void run_completions() {
    flush_posted_ = false;
    std::vector<Completion> batch = std::move(completions_);
    completions_ = std::move(spare_);  // reuse the capacity of the previous batch
    completions_.clear();
    for (auto& [callback, result] : batch) callback(std::move(result));
    batch.clear();
    spare_ = std::move(batch);
  }

  boost::asio::any_io_executor executor_;
  ClientOptions options_;
  bool follows_sentinel_;
  std::shared_ptr<AsyncConnection> connection_;
  boost::asio::steady_timer timer_;
  Clock::time_point armed_for_ = Clock::time_point::max();
  DeadlineQueues deadlines_;
  std::deque<Entry> fifo_;
  std::vector<Held> held_;       // only while the first connection attempt is under way
  std::uint64_t front_seq_ = 0;  // sequence number of fifo_.front()
  std::vector<Completion> completions_;
  std::vector<Completion> spare_;
  bool flush_posted_ = false;
  bool stopped_ = false;
  ClientStats stats_;
  // The command being handed to hiredis, which copies it: kept for its capacity, unless a
  // rare large command grew it past kMaxKeptCommandBytes.
  std::string formatted_;
  static constexpr std::size_t kMaxKeptCommandBytes = 64 * 1024;
};

}  // namespace

std::shared_ptr<Client> make_client(boost::asio::any_io_executor executor,
                                    const conf::RedisConfig& config, const ClientOptions& options) {
  if (!config.cluster_seeds.empty())
    return make_cluster_client(std::move(executor), config, options);
  return std::make_shared<AsyncClient>(std::move(executor), config, options);
}

std::shared_ptr<Client> make_client(boost::asio::any_io_executor executor,
                                    const conf::RedisConfig& config) {
  return make_client(std::move(executor), config, ClientOptions{});
}

}  // namespace keygate::redis
