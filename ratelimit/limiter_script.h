// The one Lua script that checks and charges every policy of one or more requests in a single
// EVALSHA, and the encoding of its arguments and reply.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ratelimit/decision.h"
#include "ratelimit/policy.h"
#include "ratelimit/subject.h"
#include "redis/reply.h"

namespace keygate::ratelimit {

// Lua source; its arithmetic mirrors algorithms.cc.
const std::string& limiter_script_source();

// The keys and arguments of one script call: the checks of one or more requests, in order.
// Each distinct policy (with its quota anchor) is sent once, and requests refer to it by number.
// Names and numbers are kept back to back in a few buffers that reset() empties but keeps, so a
// reused batch allocates nothing once it has grown to its usual size.
class ScriptBatch {
 public:
  // `now_ms` empty: the script reads the Redis server's clock (TIME).
  void reset(std::optional<std::int64_t> now_ms);
  // `leases`: per policy, the most to grant this request's worker on top of the request
  // (0 or missing: none).
  void add(std::string_view key_prefix, std::span<const EffectivePolicy> policies,
           const Subject& subject, std::span<const std::uint64_t> leases = {});

  std::size_t policies() const { return key_ends_.size(); }  // over every request added
  // Encode the call; the views stay valid until the next add() or reset().
  std::span<const std::string_view> key_views();
  std::span<const std::string_view> arg_views();

 private:
  struct Spec {
    char algorithm;  // f, s or t
    std::uint64_t limit;
    std::int64_t window_ms;
    std::uint64_t bucket_size;
    std::int64_t anchor_ms;
    std::uint64_t lease;
    friend bool operator==(const Spec&, const Spec&) = default;
  };

  void append_arg(std::string_view value);
  template <class Int>
  void append_number(Int value);

  std::optional<std::int64_t> now_ms_;
  std::string keys_;  // counter names back to back, each request's under one hash tag
  std::vector<std::size_t> key_ends_;
  std::vector<Spec> specs_;          // distinct policies, numbered from 1 in the arguments
  std::vector<std::uint32_t> refs_;  // per request: its policy count, then its policies' numbers
  std::string args_;
  std::vector<std::size_t> arg_ends_;
  std::vector<std::string_view> key_views_;
  std::vector<std::string_view> arg_views_;
};

// Whether `reply` has the shape the script returns for a batch of `policy_count` policies in
// all; anything else is treated as a store failure.
bool is_script_reply(const redis::Reply& reply, std::size_t policy_count);

// The lease granted with the policy at `index` (counted over the whole batch); 0 when none was
// asked for or the request was refused.
std::uint64_t lease_granted(const redis::Reply& reply, std::size_t index);

// The decision of one request of the batch, whose policies start at `first` (counted over the
// whole batch), from a reply that passed is_script_reply.
Decision decision_from_reply(const redis::Reply& reply, std::size_t first,
                             std::span<const EffectivePolicy> policies);

}  // namespace keygate::ratelimit
