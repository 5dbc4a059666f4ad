// Subscriber: a dedicated AsyncConnection in SUBSCRIBE mode.
//
// Each time the connection becomes ready the channels are subscribed again; once Redis has
// confirmed every one of them on_resubscribed() runs, because whatever was published while the
// connection was down is lost and the caller must resynchronise. Unconfirmed subscriptions get
// the connect timeout as their deadline, after which the connection is dropped and retried.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "redis/argv.h"
#include "redis/async_connection.h"
#include "redis/redis_client.h"

namespace keygate::redis {
namespace {

using MessageHandler = std::function<void(std::string_view, std::string_view)>;

bool is(const redisReply* element, std::string_view word) {
  return element->type == REDIS_REPLY_STRING &&
         std::string_view(element->str, element->len) == word;
}

class AsyncSubscriber final : public Subscriber,
                              public std::enable_shared_from_this<AsyncSubscriber> {
 public:
  AsyncSubscriber(boost::asio::any_io_executor executor, const conf::RedisConfig& config,
                  std::vector<std::string> channels, MessageHandler on_message,
                  std::function<void()> on_resubscribed)
      : executor_(executor),
        subscribe_timeout_(config.connect_timeout),
        channels_(std::move(channels)),
        on_message_(std::move(on_message)),
        on_resubscribed_(std::move(on_resubscribed)),
        timer_(executor) {
    AsyncConnection::Hooks hooks;
    // The connection is owned by this object and stopped in its destructor, so `this` outlives
    // every hook call.
    hooks.on_ready = [this](redisAsyncContext* context) { subscribe(context); };
    hooks.on_lost = [this] {
      subscribed_ = false;
      timer_.cancel();
    };
    connection_ = AsyncConnection::create(executor_, config, std::move(hooks));
    // Redis confirms a repeated channel once per mention; counting distinct ones is simpler.
    std::sort(channels_.begin(), channels_.end());
    channels_.erase(std::unique(channels_.begin(), channels_.end()), channels_.end());
  }

  ~AsyncSubscriber() override { stop(); }

  void start() override {
    if (!stopped_) connection_->start();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    subscribed_ = false;
    timer_.cancel();
    connection_->stop();
  }

  bool connected() const override { return subscribed_; }

  std::string last_error() const override { return connection_->last_error(); }

 private:
  void subscribe(redisAsyncContext* context) {
    confirmed_ = 0;
    ++attempt_;
    if (channels_.empty()) return confirm_all();
    std::vector<std::string_view> args;
    args.reserve(channels_.size() + 1);
    args.push_back("SUBSCRIBE");
    for (const auto& channel : channels_) args.push_back(channel);
    Argv argv(args);
    redisAsyncCommandArgv(context, &on_reply_hook, this, argv.count(), argv.pointers(),
                          argv.lengths());
    timer_.expires_after(subscribe_timeout_);
    timer_.async_wait(
        [weak = weak_from_this(), attempt = attempt_](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (ec || !self || self->attempt_ != attempt || self->subscribed_) return;
          self->connection_->drop("SUBSCRIBE not confirmed in time");
        });
  }

  void confirm_all() {
    subscribed_ = true;
    timer_.cancel();
    boost::asio::post(executor_, [weak = weak_from_this()] {
      auto self = weak.lock();
      if (self && !self->stopped_ && self->on_resubscribed_) self->on_resubscribed_();
    });
  }

  static void on_reply_hook(redisAsyncContext*, void* reply, void* self) {
    // A null reply means the context is being freed; on_lost handles that.
    if (reply) static_cast<AsyncSubscriber*>(self)->on_reply(static_cast<redisReply*>(reply));
  }

  void on_reply(const redisReply* reply) {
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    const redisReply* kind = reply->element[0];
    if (is(kind, "subscribe")) {
      if (!subscribed_ && ++confirmed_ == channels_.size()) confirm_all();
      return;
    }
    if (!is(kind, "message")) return;
    const redisReply* channel = reply->element[1];
    const redisReply* payload = reply->element[2];
    if (channel->type != REDIS_REPLY_STRING || payload->type != REDIS_REPLY_STRING) return;
    // Posted, with owned copies: hiredis frees the reply when this returns.
    boost::asio::post(executor_,
                      [weak = weak_from_this(), channel = std::string(channel->str, channel->len),
                       payload = std::string(payload->str, payload->len)] {
                        auto self = weak.lock();
                        if (self && !self->stopped_ && self->on_message_)
                          self->on_message_(channel, payload);
                      });
  }

  boost::asio::any_io_executor executor_;
  std::chrono::milliseconds subscribe_timeout_;
  std::vector<std::string> channels_;
  MessageHandler on_message_;
  std::function<void()> on_resubscribed_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<AsyncConnection> connection_;
  std::size_t confirmed_ = 0;
  std::uint64_t attempt_ = 0;  // a late timer must not drop a newer connection
  bool subscribed_ = false;
  bool stopped_ = false;
};

}  // namespace

std::shared_ptr<Subscriber> make_subscriber(boost::asio::any_io_executor executor,
                                            const conf::RedisConfig& config,
                                            std::vector<std::string> channels,
                                            MessageHandler on_message,
                                            std::function<void()> on_resubscribed) {
  return std::make_shared<AsyncSubscriber>(std::move(executor), config, std::move(channels),
                                           std::move(on_message), std::move(on_resubscribed));
}

}  // namespace keygate::redis
