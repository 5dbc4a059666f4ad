#include "redis/async_connection.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <random>
#include <string_view>

#include "redis/cluster_client.h"
#include "redis/reply_convert.h"
#include "redis/sentinel.h"
#include "redis/sentinel_watch.h"

namespace keygate::redis {
namespace {

using boost::system::error_code;

std::string read_password(const std::string& env_name) {
  if (env_name.empty()) return {};
  const char* value = std::getenv(env_name.c_str());
  return value ? value : "";
}

}  // namespace

std::shared_ptr<AsyncConnection> AsyncConnection::create(boost::asio::any_io_executor executor,
                                                         const conf::RedisConfig& config,
                                                         Hooks hooks) {
  std::shared_ptr<AsyncConnection> connection(
      new AsyncConnection(std::move(executor), config, std::move(hooks)));
  if (!config.sentinels.empty()) {
    connection->sentinel_ = SentinelWatch::create(
        connection->executor_, config,
        [weak = std::weak_ptr<AsyncConnection>(connection)](const NodeAddress& master) {
          if (auto self = weak.lock())
            self->restart_now("the sentinels announced a new master: " + master.to_string());
        });
  }
  return connection;
}

AsyncConnection::AsyncConnection(boost::asio::any_io_executor executor,
                                 const conf::RedisConfig& config, Hooks hooks)
    : executor_(std::move(executor)),
      config_(config),
      password_(read_password(config.password_env)),
      hooks_(std::move(hooks)),
      resolver_(executor_),
      timer_(executor_),
      socket_(executor_),
      backoff_(config.reconnect_min, config.reconnect_max, std::random_device{}()) {}

AsyncConnection::~AsyncConnection() {
  stop();
}

void AsyncConnection::start() {
  if (state_ != State::idle) return;
  if (sentinel_) sentinel_->start();
  begin_attempt();
}

void AsyncConnection::stop() {
  if (state_ == State::stopped) return;
  state_ = State::stopped;
  ++generation_;
  timer_.cancel();
  resolver_.cancel();
  if (sentinel_) sentinel_->stop();
  // hiredis fails the pending callbacks and calls hook_cleanup before this returns (or, from
  // inside a hiredis callback, as soon as that callback returns).
  if (context_) redisAsyncFree(context_);
}

void AsyncConnection::drop(std::string reason) {
  if (state_ == State::stopped || !context_) return;
  last_error_ = std::move(reason);
  redisAsyncFree(context_);
}

void AsyncConnection::restart_now(std::string reason) {
  if (state_ == State::stopped || state_ == State::idle) return;
  last_error_ = std::move(reason);
  retry_at_once_ = true;
  if (context_) {
    redisAsyncFree(context_);  // ends in on_context_gone(), which retries at once
    return;
  }
  resolver_.cancel();
  retry_at_once_ = false;
  begin_attempt();
}

void AsyncConnection::begin_attempt() {
  ++generation_;
  state_ = State::resolving;
  // On a cluster (the Subscriber's case: classic PUBLISH reaches every node) any seed will do,
  // and so will any sentinel (SentinelWatch lists them as seeds); each failed attempt moves on
  // to the next one.
  if (!config_.cluster_seeds.empty()) {
    const auto& seed = config_.cluster_seeds[failures_ % config_.cluster_seeds.size()];
    if (auto address = parse_node_address(seed)) {
      config_.host = address->host;
      config_.port = address->port;
    }
  }
  auto weak = weak_from_this();
  auto generation = generation_;
  // One deadline covers asking the sentinels (with Sentinel), resolving, connecting, AUTH, SELECT
  // and ROLE.
  timer_.expires_after(config_.connect_timeout);
  timer_.async_wait([weak, generation](const error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->generation_ != generation) return;
    self->on_connect_timeout();
  });
  if (!sentinel_) return connect_host();
  // The sentinels' answer is part of the attempt, under the same deadline.
  state_ = State::locating;
  sentinel_->locate(
      [weak, generation](std::optional<NodeAddress> master, const std::string& error) {
        auto self = weak.lock();
        if (!self || self->generation_ != generation || self->state_ != State::locating) return;
        if (!master) {
          self->last_error_ = error;
          self->schedule_retry();
          return;
        }
        self->config_.host = master->host;
        self->config_.port = master->port;
        self->state_ = State::resolving;
        self->connect_host();
      });
}

void AsyncConnection::connect_host() {
  auto weak = weak_from_this();
  auto generation = generation_;
  error_code ec;
  auto address = boost::asio::ip::make_address(config_.host, ec);
  if (!ec) {
    connect_to(address);
    return;
  }
  // hiredis would call the blocking getaddrinfo() on a name; Asio resolves off the executor.
  resolver_.async_resolve(
      config_.host, std::to_string(config_.port),
      [weak, generation](const error_code& ec,
                         const boost::asio::ip::tcp::resolver::results_type& results) {
        auto self = weak.lock();
        if (!self || self->generation_ != generation) return;
        if (ec || results.empty()) {
          self->last_error_ = "cannot resolve " + self->config_.host + ": " +
                              (ec ? ec.message() : std::string("no address"));
          self->schedule_retry();
          return;
        }
        // A name may have several addresses (::1 and 127.0.0.1 for localhost) of which only
        // some answer: each failed attempt moves on to the next one.
        auto chosen = results.begin();
        std::advance(chosen, self->failures_ % results.size());
        self->connect_to(chosen->endpoint().address());
      });
}

void AsyncConnection::connect_to(const boost::asio::ip::address& address) {
  state_ = State::connecting;
  std::string ip = address.to_string();
  redisAsyncContext* context = redisAsyncConnect(ip.c_str(), config_.port);
  if (!context) {
    last_error_ = "cannot allocate a hiredis context";
    schedule_retry();
    return;
  }
  if (context->err) {
    last_error_ = "connect " + ip + ":" + std::to_string(config_.port) + ": " + context->errstr;
    redisAsyncFree(context);  // no hooks installed yet: frees quietly
    schedule_retry();
    return;
  }
  context_ = context;
  context->data = this;
  context->ev.data = this;
  context->ev.addRead = &hook_add_read;
  context->ev.delRead = &hook_del_read;
  context->ev.addWrite = &hook_add_write;
  context->ev.delWrite = &hook_del_write;
  context->ev.cleanup = &hook_cleanup;
  error_code ec;
  socket_.assign(context->c.fd, ec);
  if (ec) {
    fail_link("cannot watch the socket: " + ec.message());
    return;
  }
  // Installing the connect callback asks for the first writable event, which is how a
  // non-blocking connect reports that it finished.
  redisAsyncSetConnectCallback(context, &hook_connect);
}

void AsyncConnection::on_connect_timeout() {
  switch (state_) {
    case State::locating:
      last_error_ =
          "timed out asking the sentinels where master '" + config_.sentinel_master + "' is";
      if (auto why = sentinel_->last_error(); !why.empty()) last_error_ += " (" + why + ")";
      schedule_retry();
      break;
    case State::resolving:
      last_error_ = "timed out resolving " + config_.host;
      resolver_.cancel();
      schedule_retry();
      break;
    case State::connecting:
      fail_link("timed out connecting to " + config_.host + ":" + std::to_string(config_.port));
      break;
    case State::handshaking:
      fail_link("timed out waiting for the AUTH/SELECT/PING handshake");
      break;
    default:
      break;
  }
}

void AsyncConnection::schedule_retry() {
  state_ = State::waiting;
  ++failures_;
  ++generation_;
  if (hooks_.on_attempt_failed) hooks_.on_attempt_failed();
  auto weak = weak_from_this();
  auto generation = generation_;
  // After restart_now() the server moved: waiting would only prolong the outage.
  timer_.expires_after(retry_at_once_ ? std::chrono::milliseconds(0) : backoff_.next());
  retry_at_once_ = false;
  timer_.async_wait([weak, generation](const error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->generation_ != generation) return;
    self->begin_attempt();
  });
}

void AsyncConnection::on_connected() {
  state_ = State::handshaking;
  redisEnableKeepAlive(&context_->c);  // so a silently dead peer is noticed even when idle
  if (!password_.empty()) {
    const char* argv[] = {"AUTH", password_.data()};
    const size_t lengths[] = {4, password_.size()};
    if (redisAsyncCommandArgv(context_, &hook_handshake, this, 2, argv, lengths) == REDIS_OK)
      ++handshake_pending_;
  }
  if (config_.database != 0) {
    std::string database = std::to_string(config_.database);
    const char* argv[] = {"SELECT", database.data()};
    const size_t lengths[] = {6, database.size()};
    if (redisAsyncCommandArgv(context_, &hook_handshake, this, 2, argv, lengths) == REDIS_OK)
      ++handshake_pending_;
  }
  if (sentinel_) {
    // The sentinels' answer may be stale (a demoted master still accepts connections): the
    // server must say itself that it is the master. Doubles as the "Redis answered" check.
    const char* argv[] = {"ROLE"};
    const size_t lengths[] = {4};
    if (redisAsyncCommandArgv(context_, &hook_role, this, 1, argv, lengths) == REDIS_OK)
      ++handshake_pending_;
  }
  if (handshake_pending_ == 0) {
    // Nothing to say yet, but "connected" should mean Redis answered, not just that the kernel
    // completed the TCP handshake (it does so for a frozen or still-loading server too).
    const char* argv[] = {"PING"};
    const size_t lengths[] = {4};
    if (redisAsyncCommandArgv(context_, &hook_handshake, this, 1, argv, lengths) == REDIS_OK)
      ++handshake_pending_;
  }
  if (handshake_pending_ == 0) fail_link("cannot send the handshake");
}

void AsyncConnection::on_handshake_reply(const redisReply* reply) {
  if (handshake_pending_ <= 0) return;
  if (reply->type == REDIS_REPLY_ERROR) {
    handshake_pending_ = 0;
    last_error_ =
        "connection handshake (AUTH/SELECT/PING) refused: " + std::string(reply->str, reply->len);
    // Inside a hiredis callback: hiredis frees the context once this callback returns.
    redisAsyncFree(context_);
    return;
  }
  if (--handshake_pending_ == 0) become_ready();
}

void AsyncConnection::on_role_reply(const redisReply* reply) {
  if (handshake_pending_ <= 0) return;
  Reply role = to_reply(*reply);
  if (!is_master_role(role)) {
    handshake_pending_ = 0;
    last_error_ = config_.host + ":" + std::to_string(config_.port) +
                  " named by the sentinels is not the master (ROLE: " +
                  (role.is_error() ? role.str : role_name(role)) + ")";
    redisAsyncFree(context_);  // inside a hiredis callback: freed once it returns
    return;
  }
  if (--handshake_pending_ == 0) become_ready();
}

void AsyncConnection::become_ready() {
  state_ = State::ready;
  ++connects_;
  backoff_.reset();
  timer_.cancel();
  if (hooks_.on_ready) hooks_.on_ready(context_);
}

void AsyncConnection::on_context_gone() {
  // Called by hiredis while it frees the context: the context is still readable here and the
  // socket is closed right after, so stop watching it now without closing it.
  if (context_ && context_->err) last_error_ = context_->errstr;
  if (socket_.is_open()) socket_.release();
  bool was_ready = state_ == State::ready;
  context_ = nullptr;
  ++generation_;
  want_read_ = want_write_ = read_waiting_ = write_waiting_ = flush_posted_ = writing_ = false;
  handshake_pending_ = 0;
  if (was_ready && hooks_.on_lost) hooks_.on_lost();
  if (state_ != State::stopped) schedule_retry();
}

void AsyncConnection::fail_link(const std::string& reason) {
  if (!context_) return;
  last_error_ = reason;
  redisAsyncFree(context_);  // ends in on_context_gone(), which schedules the retry
}

void AsyncConnection::arm_read() {
  if (read_waiting_ || !context_) return;
  read_waiting_ = true;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [weak = weak_from_this(), generation = generation_](const error_code& ec) {
                       auto self = weak.lock();
                       if (!self || self->generation_ != generation) return;
                       self->read_waiting_ = false;
                       if (ec) return self->fail_link("waiting to read: " + ec.message());
                       self->on_readable();
                     });
}

void AsyncConnection::arm_write() {
  if (write_waiting_ || !context_) return;
  write_waiting_ = true;
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                     [weak = weak_from_this(), generation = generation_](const error_code& ec) {
                       auto self = weak.lock();
                       if (!self || self->generation_ != generation) return;
                       self->write_waiting_ = false;
                       if (ec) return self->fail_link("waiting to write: " + ec.message());
                       self->on_writable();
                     });
}

void AsyncConnection::request_flush() {
  if (!context_ || writing_ || write_waiting_) return;
  if (!(context_->c.flags & REDIS_CONNECTED)) return arm_write();
  // The socket is nearly always writable: instead of asking epoll, write once the current
  // handler is done, so every command issued meanwhile goes out in one write (pipelining).
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(executor_, [weak = weak_from_this(), generation = generation_] {
    auto self = weak.lock();
    if (!self || self->generation_ != generation) return;
    self->flush_posted_ = false;
    self->on_writable();
  });
}

void AsyncConnection::on_readable() {
  if (!want_read_ || !context_) return;
  auto generation = generation_;
  redisAsyncHandleRead(context_);
  if (generation_ == generation && want_read_) arm_read();
}

void AsyncConnection::on_writable() {
  if (!want_write_ || !context_) return;
  auto generation = generation_;
  writing_ = true;
  redisAsyncHandleWrite(context_);
  if (generation_ != generation) return;
  writing_ = false;
  // Still wanting to write means the socket buffer is full (or the connect is in progress).
  if (want_write_) arm_write();
}

void AsyncConnection::hook_add_read(void* self) {
  auto* connection = static_cast<AsyncConnection*>(self);
  connection->want_read_ = true;
  connection->arm_read();
}

void AsyncConnection::hook_del_read(void* self) {
  static_cast<AsyncConnection*>(self)->want_read_ = false;
}

void AsyncConnection::hook_add_write(void* self) {
  auto* connection = static_cast<AsyncConnection*>(self);
  connection->want_write_ = true;
  connection->request_flush();
}

void AsyncConnection::hook_del_write(void* self) {
  static_cast<AsyncConnection*>(self)->want_write_ = false;
}

void AsyncConnection::hook_cleanup(void* self) {
  static_cast<AsyncConnection*>(self)->on_context_gone();
}

void AsyncConnection::hook_connect(const redisAsyncContext* context, int status) {
  auto* connection = static_cast<AsyncConnection*>(context->data);
  // On failure hiredis frees the context right after this returns; hook_cleanup retries.
  if (status == REDIS_OK) connection->on_connected();
}

void AsyncConnection::hook_role(redisAsyncContext*, void* reply, void* self) {
  if (reply) static_cast<AsyncConnection*>(self)->on_role_reply(static_cast<redisReply*>(reply));
}

void AsyncConnection::hook_handshake(redisAsyncContext*, void* reply, void* self) {
  // A null reply means the context is being freed; hook_cleanup handles that.
  if (reply)
    static_cast<AsyncConnection*>(self)->on_handshake_reply(static_cast<redisReply*>(reply));
}

}  // namespace keygate::redis
