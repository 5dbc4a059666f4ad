// Leases: requests' worth one worker took from a Redis counter in one script call (the script
// charged them to the counter up front) and now admits without asking Redis, until they are
// spent or the window they were charged in ends. Only policies with `lease` > 0 take them.
//
// Why it stays within the limit: every request a lease admits was counted in Redis before it
// arrived, so all replicas together never admit more than the limit. What a lease gives up:
//  - requests leased but never used (the worker's traffic for that counter stopped, or its
//    window ended) are refused to others: at most `lease` per worker per counter and window;
//  - `remaining` as a lease reports it is this worker's view (what Redis had left at the grant
//    plus what the lease still holds), not what the other replicas have used since.
// The script grants at most 1/16 of what a counter has left, so near a limit leases shrink to
// nothing and requests are decided one by one in Redis again.
//
// One table per worker thread; not thread-safe. Bounded by `max_entries` counters: when full,
// ended leases are dropped (at most once a second, so a flood of new counters cannot make
// every request walk the table), and until there is room no new lease is asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ratelimit/decision.h"
#include "ratelimit/identity_hash.h"
#include "ratelimit/policy.h"
#include "ratelimit/subject.h"

namespace keygate::ratelimit {

class LeaseTable {
 public:
  // A lease asked for with a request: the request's policy at `policy`, whose counter is
  // `counter` (append_counter_identity).
  struct Ask {
    std::size_t policy = 0;
    std::string counter;
  };

  // What the script answered for one asked policy.
  struct Grant {
    std::uint64_t requests = 0;   // granted; 0: none (refused, or too close to the limit)
    std::uint64_t remaining = 0;  // the counter's remaining after the request, lease included
    std::int64_t reset_ms = 0;    // the counter's reset as the script reported it
    std::int64_t store_now_ms = 0;
    std::int64_t sent_at_ms = 0;  // local clock when the call was sent
  };

  explicit LeaseTable(std::size_t max_entries) : max_entries_(max_entries) {}

  // Admits the request from leases when every one of its policies has one with requests left;
  // charges one to each and returns the decision. Otherwise charges nothing.
  std::optional<Decision> try_admit(std::span<const EffectivePolicy> policies,
                                    const Subject& subject, std::int64_t now_ms);

  // For a request going to Redis: fills `sizes` with the lease to ask per policy (0: none) and
  // `asks` with the counters asked for, at most one ask per counter at a time. Empty `sizes`
  // when no policy takes leases.
  void prepare_asks(std::span<const EffectivePolicy> policies, const Subject& subject,
                    std::int64_t now_ms, std::vector<std::uint64_t>& sizes, std::vector<Ask>& asks);

  // The answer to an ask, or (`grant` empty) its failure.
  void on_answer(const Ask& ask, const EffectivePolicy& policy, const std::optional<Grant>& grant);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Lease {
    // The policy at the grant: a change (an override, a reload) voids the lease.
    std::uint64_t limit = 0;
    std::int64_t window_ms = 0;
    std::uint64_t bucket_size = 0;
    std::uint64_t left = 0;             // requests still to admit
    std::uint64_t other_remaining = 0;  // what the counter had left besides this lease
    std::int64_t reset_ms = 0;
    std::int64_t valid_until_ms = 0;  // local clock: the end of the window it was charged in
    bool asked = false;               // an ask is on its way
  };

  static bool usable(const Lease& lease, const EffectivePolicy& policy, std::int64_t now_ms) {
    return lease.left > 0 && now_ms < lease.valid_until_ms && lease.limit == policy.limit &&
           lease.window_ms == policy.effective_window_ms() &&
           lease.bucket_size == policy.bucket_size();
  }
  void make_room(std::int64_t now_ms);
  // A full table is swept for ended leases at most this often: a sweep walks every entry.
  static constexpr std::int64_t kSweepEveryMs = 1000;

  const std::size_t max_entries_;
  std::unordered_map<std::string, Lease, IdentityHash, std::equal_to<>> entries_;
  std::string key_;            // scratch: the identity of the counter being looked up
  std::vector<Lease*> found_;  // scratch: the leases of the request being admitted
  std::int64_t next_sweep_ms_ = 0;
};

}  // namespace keygate::ratelimit
