// A Lua script run with EVALSHA, loaded into Redis on first use and again after a NOSCRIPT.
//
// Redis computes the SHA1 (SCRIPT LOAD), so this module needs no crypto library. The SHA is
// learnt once and shared by copies of the Script and by every thread; Redis forgets scripts on
// restart or SCRIPT FLUSH, and a NOSCRIPT reply is answered by loading the script and retrying
// once, within the caller's original deadline.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "redis/redis_client.h"
#include "redis/sync_client.h"

namespace keygate::redis {

class Script {
 public:
  explicit Script(std::string source);

  const std::string& source() const;
  // The SHA1 once Redis told it; empty before.
  std::string sha() const;

  // Runs the script. `cb` gets the script's reply, a Redis error reply, or the client's failure
  // status; it runs once, on the client's executor. `client` must outlive `cb`.
  void eval(Client& client, std::span<const std::string_view> keys,
            std::span<const std::string_view> args, std::chrono::milliseconds timeout,
            Callback cb) const;
  // Loads the script ahead of the first eval() (e.g. when the connection comes up), so the first
  // request does not pay for two round trips. `cb` may be empty.
  void load(Client& client, std::chrono::milliseconds timeout, Callback cb) const;

  // The blocking equivalent, bounded by the SyncClient's command timeout per round trip.
  Result eval(SyncClient& client, std::span<const std::string_view> keys,
              std::span<const std::string_view> args) const;

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace keygate::redis
