// The data-path half of usage recording: one shard per worker thread, so recording a request
// takes one uncontended mutex (the flush thread takes it only to swap the tables out) and one
// hash lookup. The tables are bounded: a shard tracks at most `max_keys` distinct keys between
// two flushes; requests of further keys are counted as dropped, never allocated for.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/usage_types.h"

namespace keygate::auth {

// One finished request, as the proxy knows it. Views: nothing is kept beyond record().
struct UsageEvent {
  std::string_view key_id;
  std::string_view org;
  std::optional<UnixSeconds> org_created_at;  // none: the org has no record, so no period
  unsigned status = 0;                        // 0: no response was sent
  std::string_view client_ip;
  bool reached_upstream = false;  // counts toward the org's period calls
};

// What the flush thread takes out of a shard.
struct ShardTake {
  UsageBatch counts;                         // keys (counters and org only) and org calls
  std::map<std::string, LastUse> last_uses;  // key id -> latest use in this take
};

class UsageShard {
 public:
  UsageShard(std::size_t max_keys, std::function<UnixSeconds()> clock);

  // Worker thread. Never throws; an allocation failure drops the request like the bound does.
  void record(const UsageEvent& event) noexcept;

  // Flush thread: moves everything recorded so far into `out`.
  void take_into(ShardTake& out);

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  struct Tally {
    std::string org;
    KeyCounts counts;
    UnixSeconds last_at = 0;
    std::string last_ip;
  };
  struct PeriodCalls {
    UnixSeconds start = 0;
    std::uint64_t calls = 0;
  };
  using KeyTable = std::unordered_map<std::string, Tally, StringHash, std::equal_to<>>;
  // A vector per org: it holds one period, two when a period ends between flushes.
  using OrgTable =
      std::unordered_map<std::string, std::vector<PeriodCalls>, StringHash, std::equal_to<>>;

  const std::size_t max_keys_;
  const std::function<UnixSeconds()> clock_;
  std::mutex mutex_;
  KeyTable keys_;
  OrgTable orgs_;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace keygate::auth
