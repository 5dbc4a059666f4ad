#include "redis/sentinel_watch.h"

#include <boost/asio/post.hpp>

#include "redis/async_connection.h"
#include "redis/reply_convert.h"
#include "redis/sentinel.h"

namespace keygate::redis {

std::shared_ptr<SentinelWatch> SentinelWatch::create(boost::asio::any_io_executor executor,
                                                     const conf::RedisConfig& config,
                                                     Moved on_moved) {
  return std::shared_ptr<SentinelWatch>(
      new SentinelWatch(std::move(executor), config, std::move(on_moved)));
}

SentinelWatch::SentinelWatch(boost::asio::any_io_executor executor, const conf::RedisConfig& config,
                             Moved on_moved)
    : executor_(std::move(executor)),
      master_name_(config.sentinel_master),
      on_moved_(std::move(on_moved)),
      ask_timeout_(config.command_timeout) {
  AsyncConnection::Hooks hooks;
  // The connection is owned by this object and stopped in its destructor, so `this` outlives
  // every hook call.
  hooks.on_ready = [this](redisAsyncContext* context) { on_ready(context); };
  // sentinel_connection_config() lists the sentinels as seeds: AsyncConnection moves to the
  // next one after each failure.
  conf::RedisConfig watch = sentinel_connection_config(config);
  connection_ = AsyncConnection::create(executor_, watch, hooks);
  for (const std::string& sentinel : config.sentinels) {
    auto address = parse_node_address(sentinel);
    if (!address) continue;
    conf::RedisConfig one = watch;
    one.cluster_seeds.clear();
    one.host = address->host;
    one.port = address->port;
    clients_.push_back(make_client(executor_, one));
    names_.push_back(sentinel);
  }
}

SentinelWatch::~SentinelWatch() {
  stop();
}

void SentinelWatch::start() {
  if (stopped_) return;
  connection_->start();
  for (auto& client : clients_) client->start();
}

void SentinelWatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  waiter_ = nullptr;
  connection_->stop();
  for (auto& client : clients_) client->stop();
}

std::string SentinelWatch::last_error() const {
  if (!error_.empty()) return error_;
  return connection_->last_error();
}

void SentinelWatch::locate(Found found) {
  if (stopped_) return;
  if (fresh_ && known_) {
    fresh_ = false;
    boost::asio::post(executor_,
                      [found = std::move(found), master = *known_] { found(master, {}); });
    return;
  }
  waiter_ = std::move(found);
  ask(0, ++query_, {});
}

void SentinelWatch::ask(std::size_t tries, std::uint64_t query, std::string errors) {
  bool any_connected = !errors.empty();  // an earlier try got as far as asking
  for (; tries < clients_.size(); ++tries) {
    const std::size_t index = (preferred_ + tries) % clients_.size();
    if (!clients_[index]->connected()) continue;
    clients_[index]->command(
        {"SENTINEL", "get-master-addr-by-name", master_name_}, ask_timeout_,
        [weak = weak_from_this(), index, tries, query, errors](Result result) mutable {
          auto self = weak.lock();
          if (!self || self->stopped_ || self->query_ != query) return;
          if (result.status == Status::ok)
            if (auto master = parse_master_address(result.reply)) {
              self->preferred_ = index;
              self->error_.clear();
              return self->learn(*master);
            }
          std::string why = result.status != Status::ok ? to_string(result.status)
                            : result.reply.is_error()
                                ? result.reply.str
                                : "does not know a master named '" + self->master_name_ + "'";
          errors += (errors.empty() ? "" : "; ") + std::string("sentinel ") + self->names_[index] +
                    ": " + why;
          self->ask(tries + 1, query, std::move(errors));
        });
    return;
  }
  // Nobody connected yet (start-up): the watch's first answer, or the caller's deadline, ends
  // the wait.
  if (!any_connected) return;
  error_ = "no sentinel named the master: " + errors;
  fail_waiter(error_);
}

void SentinelWatch::on_ready(redisAsyncContext* context) {
  where_ = std::string(context->c.tcp.host ? context->c.tcp.host : "?") + ":" +
           std::to_string(context->c.tcp.port);
  // In this order, pipelined: the sentinel handles both in one go, so no switch can fall
  // between the answer and the subscription.
  const char* ask[] = {"SENTINEL", "get-master-addr-by-name", master_name_.c_str()};
  const size_t ask_lengths[] = {8, 23, master_name_.size()};
  redisAsyncCommandArgv(context, &hook_address, this, 3, ask, ask_lengths);
  const char* subscribe[] = {"SUBSCRIBE", kSwitchMasterChannel.data()};
  const size_t subscribe_lengths[] = {9, kSwitchMasterChannel.size()};
  redisAsyncCommandArgv(context, &hook_message, this, 2, subscribe, subscribe_lengths);
}

void SentinelWatch::on_address(const redisReply* reply) {
  Reply answer = to_reply(*reply);
  if (auto master = parse_master_address(answer)) {
    error_.clear();
    return learn(*master);
  }
  // Only remembered: locate() asks every sentinel before it gives up.
  error_ = "sentinel " + where_ + ": " +
           (answer.is_error() ? answer.str : "does not know a master named '" + master_name_ + "'");
}

void SentinelWatch::on_message(const redisReply* reply) {
  // ["message", "+switch-master", "<name> <old-ip> <old-port> <new-ip> <new-port>"]; the
  // subscription's confirmation (["subscribe", ...]) needs nothing.
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) return;
  const redisReply* kind = reply->element[0];
  const redisReply* payload = reply->element[2];
  if (kind->type != REDIS_REPLY_STRING || std::string_view(kind->str, kind->len) != "message" ||
      payload->type != REDIS_REPLY_STRING)
    return;
  if (auto master = parse_switch_master(std::string_view(payload->str, payload->len), master_name_))
    learn(*master);
}

void SentinelWatch::learn(const NodeAddress& master) {
  const bool moved = !known_ || known_->host != master.host || known_->port != master.port;
  known_ = master;
  if (waiter_) {
    fresh_ = false;
    ++query_;  // answers still on their way are older than this one
    boost::asio::post(executor_,
                      [found = std::move(waiter_), master] { found(master, std::string()); });
    waiter_ = nullptr;
    return;
  }
  if (!moved) return;
  fresh_ = true;
  // Posted: this runs inside a hiredis callback, and the owner restarts its own connection.
  boost::asio::post(executor_, [weak = weak_from_this(), master] {
    auto self = weak.lock();
    if (self && !self->stopped_ && self->on_moved_) self->on_moved_(master);
  });
}

void SentinelWatch::fail_waiter(const std::string& error) {
  if (!waiter_) return;
  ++query_;
  boost::asio::post(executor_, [found = std::move(waiter_), error] { found(std::nullopt, error); });
  waiter_ = nullptr;
}

void SentinelWatch::hook_address(redisAsyncContext*, void* reply, void* self) {
  // A null reply means the context is being freed; the next locate() asks again.
  if (reply) static_cast<SentinelWatch*>(self)->on_address(static_cast<redisReply*>(reply));
}

void SentinelWatch::hook_message(redisAsyncContext*, void* reply, void* self) {
  if (reply) static_cast<SentinelWatch*>(self)->on_message(static_cast<redisReply*>(reply));
}

}  // namespace keygate::redis
