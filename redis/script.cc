#include "redis/script.h"

#include <atomic>
#include <charconv>
#include <mutex>
#include <vector>

#include "redis/owned_strings.h"

namespace keygate::redis {
namespace {

using Clock = std::chrono::steady_clock;

bool is_noscript(const Result& result) {
  return result.status == Status::ok && result.reply.is_error() &&
         result.reply.str.starts_with("NOSCRIPT");
}

bool is_sha(const Result& result) {
  return result.ok() && result.reply.type == Reply::Type::string && result.reply.str.size() == 40;
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

// EVALSHA <sha> <numkeys> keys... args..., as views into storage that outlives the call.
class EvalArgs {
 public:
  EvalArgs(std::string_view sha, std::span<const std::string_view> keys,
           std::span<const std::string_view> args) {
    auto [end, ec] = std::to_chars(count_, count_ + sizeof(count_), keys.size());
    views_.reserve(3 + keys.size() + args.size());
    views_.push_back("EVALSHA");
    views_.push_back(sha);
    views_.push_back(std::string_view(count_, end - count_));
    views_.insert(views_.end(), keys.begin(), keys.end());
    views_.insert(views_.end(), args.begin(), args.end());
  }
  std::span<const std::string_view> views() const { return views_; }

 private:
  char count_[24];
  std::vector<std::string_view> views_;
};

// Keys and arguments kept for a second EVALSHA after the caller's views are gone.
class SavedArgs {
 public:
  SavedArgs(std::span<const std::string_view> keys, std::span<const std::string_view> args)
      : strings_(keys, args), key_count_(keys.size()) {}
  std::vector<std::string_view> views() const { return strings_.views(); }
  std::size_t key_count() const { return key_count_; }

 private:
  OwnedStrings strings_;
  std::size_t key_count_;
};

void eval_saved(Client& client, std::string_view sha, const SavedArgs& saved,
                std::chrono::milliseconds timeout, Callback cb) {
  auto views = saved.views();
  std::span<const std::string_view> all(views);
  EvalArgs eval_args(sha, all.first(saved.key_count()), all.subspan(saved.key_count()));
  client.command(eval_args.views(), timeout, std::move(cb));
}

}  // namespace

struct Script::Shared {
  explicit Shared(std::string text) : source(std::move(text)) {}

  const std::string source;
  // Written once (the SHA of a text never changes), then read without the lock.
  std::atomic<bool> known{false};
  std::string sha_value;
  std::mutex write_lock;

  std::string_view sha() const {
    return known.load(std::memory_order_acquire) ? std::string_view(sha_value) : std::string_view();
  }
  void learn(const std::string& value) {
    std::lock_guard lock(write_lock);
    if (known.load(std::memory_order_relaxed)) return;
    sha_value = value;
    known.store(true, std::memory_order_release);
  }
};

Script::Script(std::string source) : shared_(std::make_shared<Shared>(std::move(source))) {}

const std::string& Script::source() const {
  return shared_->source;
}

std::string Script::sha() const {
  return std::string(shared_->sha());
}

void Script::load(Client& client, std::chrono::milliseconds timeout, Callback cb) const {
  client.command({"SCRIPT", "LOAD", shared_->source}, timeout,
                 [shared = shared_, cb = std::move(cb)](Result result) {
                   if (is_sha(result)) shared->learn(result.reply.str);
                   if (cb) cb(std::move(result));
                 });
}

void Script::eval(Client& client, std::span<const std::string_view> keys,
                  std::span<const std::string_view> args, std::chrono::milliseconds timeout,
                  Callback cb) const {
  std::string_view sha = shared_->sha();
  if (!sha.empty()) {
    auto deadline = Clock::now() + timeout;
    EvalArgs eval_args(sha, keys, args);
    // The retry needs the keys and arguments again after this call returned: keep copies, but
    // only on this path. Copying is the price of not holding the caller's views.
    auto retry = [&client, shared = shared_, deadline, saved = SavedArgs(keys, args),
                  cb = std::move(cb)](Result result) mutable {
      if (!is_noscript(result)) return cb(std::move(result));
      auto left = remaining(deadline);
      if (left <= std::chrono::milliseconds::zero()) return cb(Result{Status::timeout, {}});
      // Redis lost its script cache (restart, SCRIPT FLUSH). Pipelined on the same connection,
      // the load runs before the retried EVALSHA; the retry's reply is final.
      client.command({"SCRIPT", "LOAD", shared->source}, left, [](Result) {});
      eval_saved(client, shared->sha(), saved, left, std::move(cb));
    };
    client.command(eval_args.views(), timeout, std::move(retry));
    return;
  }
  // First use: learn the SHA, then run.
  auto deadline = Clock::now() + timeout;
  client.command({"SCRIPT", "LOAD", shared_->source}, timeout,
                 [&client, shared = shared_, deadline, saved = SavedArgs(keys, args),
                  cb = std::move(cb)](Result result) mutable {
                   if (!is_sha(result)) return cb(std::move(result));
                   shared->learn(result.reply.str);
                   auto left = remaining(deadline);
                   if (left <= std::chrono::milliseconds::zero())
                     return cb(Result{Status::timeout, {}});
                   eval_saved(client, result.reply.str, saved, left, std::move(cb));
                 });
}

Result Script::eval(SyncClient& client, std::span<const std::string_view> keys,
                    std::span<const std::string_view> args) const {
  auto load = [&]() -> Result {
    Result result = client.command({"SCRIPT", "LOAD", shared_->source});
    if (is_sha(result)) shared_->learn(result.reply.str);
    return result;
  };
  if (shared_->sha().empty()) {
    Result loaded = load();
    if (!is_sha(loaded)) return loaded;
  }
  EvalArgs eval_args(shared_->sha(), keys, args);
  Result result = client.command(eval_args.views());
  if (!is_noscript(result)) return result;
  Result loaded = load();
  if (!is_sha(loaded)) return loaded;
  return client.command(eval_args.views());
}

}  // namespace keygate::redis
