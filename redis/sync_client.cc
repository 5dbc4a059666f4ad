// SyncClient on hiredis' blocking context: its socket timeouts give the deadline.
#include "redis/sync_client.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "redis/argv.h"
#include "redis/reply_convert.h"
#include "redis/sentinel.h"

namespace keygate::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds duration) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(duration.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((duration.count() % 1000) * 1000);
  return tv;
}

struct ContextFree {
  void operator()(redisContext* context) const { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;

struct ReplyFree {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

class BlockingClient final : public SyncClient {
 public:
  explicit BlockingClient(const conf::RedisConfig& config) : config_(config) {
    if (!config.password_env.empty())
      if (const char* value = std::getenv(config.password_env.c_str())) password_ = value;
  }

  // hiredis resolves a host name with the blocking getaddrinfo(), which connect_timeout does
  // not bound; acceptable off the data path.
  bool connect(std::string* error) {
    context_.reset();
    NodeAddress server{config_.host, config_.port};
    const bool sentinel = !config_.sentinels.empty();
    if (sentinel) {
      // Asked again on every connection: after a failover the old answer is wrong.
      auto master = ask_sentinels(config_, error);
      if (!master) return false;
      server = *master;
      master_ = server;
      asked_at_ = std::chrono::steady_clock::now();
    }
    ContextPtr context(redisConnectWithTimeout(server.host.c_str(), server.port,
                                               to_timeval(config_.connect_timeout)));
    std::string where = server.to_string();
    if (!context || context->err) {
      *error = "cannot connect to " + where + ": " +
               (context ? context->errstr : "cannot allocate a hiredis context");
      return false;
    }
    redisSetTimeout(context.get(), to_timeval(config_.command_timeout));
    redisEnableKeepAlive(context.get());
    if (!password_.empty() && !handshake(context.get(), {"AUTH", password_}, error)) return false;
    if (config_.database != 0 &&
        !handshake(context.get(), {"SELECT", std::to_string(config_.database)}, error))
      return false;
    if (sentinel && !check_master(context.get(), where, error)) return false;
    context_ = std::move(context);
    return true;
  }

  Result command(std::span<const std::string_view> args) override {
    if (args.empty())
      return Result{Status::ok, Reply{Reply::Type::error, 0, "ERR empty command", {}}};
    Result result = send(args);
    // A master demoted under us refuses writes without running them, so sending again is
    // safe: once, to the master the sentinels name now.
    if (!config_.sentinels.empty() && result.status == Status::ok && result.reply.is_error() &&
        result.reply.str.starts_with("READONLY")) {
      context_.reset();
      result = send(args);
    }
    return result;
  }

  std::string last_error() const override { return last_error_; }

 private:
  Result send(std::span<const std::string_view> args) {
    // Reconnecting is only safe before sending: once a command is written it may have run, and
    // sending it again could apply it twice (INCR). A connection the server closed while we were
    // idle (restart, idle timeout) is detected here, which is the drop this client survives.
    if (context_ && dropped_while_idle()) context_.reset();
    if (context_ && master_moved()) context_.reset();
    if (!context_ && !connect(&last_error_)) return Result{Status::disconnected, {}};
    Argv argv(args);
    errno = 0;
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(context_.get(), argv.count(), argv.pointers(), argv.lengths())));
    if (!reply) {
      int error = errno;
      bool timed_out = context_->err == REDIS_ERR_IO && (error == EAGAIN || error == EWOULDBLOCK);
      last_error_ = context_->errstr;
      // The reply may still come and would answer the next command: start afresh next time.
      context_.reset();
      return Result{timed_out ? Status::timeout : Status::disconnected, {}};
    }
    return Result{Status::ok, to_reply(*reply)};
  }

  bool handshake(redisContext* context, std::initializer_list<std::string> words,
                 std::string* error) {
    std::vector<std::string_view> args(words.begin(), words.end());
    Argv argv(args);
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(context, argv.count(), argv.pointers(), argv.lengths())));
    std::string name(*words.begin());
    if (!reply) {
      *error = name + " failed: " + context->errstr;
      return false;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      *error = name + " refused: " + std::string(reply->str, reply->len);
      return false;
    }
    return true;
  }

  // The sentinels' answer may be stale (a demoted master still accepts connections).
  bool check_master(redisContext* context, const std::string& where, std::string* error) {
    ReplyPtr reply(static_cast<redisReply*>(redisCommand(context, "ROLE")));
    if (!reply) {
      *error = "ROLE on " + where + " failed: " + context->errstr;
      return false;
    }
    Reply role = to_reply(*reply);
    if (!is_master_role(role)) {
      *error = where + " named by the sentinels is not the master (ROLE: " + role_name(role) + ")";
      return false;
    }
    return true;
  }

  // A master that failed over while still reachable keeps accepting writes until the sentinels
  // demote it, seconds later. This client holds no subscription, so it asks again before a
  // command when its answer is over a second old: a round trip per second at most, off the data
  // path.
  bool master_moved() {
    if (config_.sentinels.empty()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - asked_at_ < std::chrono::seconds(1)) return false;
    asked_at_ = now;
    std::string ignored;
    auto master = ask_sentinels(config_, &ignored);
    return master && (master->host != master_.host || master->port != master_.port);
  }

  // Between commands nothing should arrive: readability means EOF, an error, or stray bytes,
  // and none of them leaves the connection usable.
  bool dropped_while_idle() const {
    pollfd watch{context_->fd, POLLIN, 0};
    int ready = ::poll(&watch, 1, 0);
    return ready != 0;
  }

  conf::RedisConfig config_;
  std::string password_;
  ContextPtr context_;
  // Sentinel: the master connected to and when the sentinels were last asked.
  NodeAddress master_;
  std::chrono::steady_clock::time_point asked_at_{};
  std::string last_error_;
};

}  // namespace

std::unique_ptr<SyncClient> connect_sync(const conf::RedisConfig& config, std::string* error) {
  if (!config.cluster_seeds.empty()) return connect_cluster_sync(config, error);
  return connected_or_null(std::make_unique<BlockingClient>(config), error);
}

}  // namespace keygate::redis
