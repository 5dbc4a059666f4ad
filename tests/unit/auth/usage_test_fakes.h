// A UsageStore double for the recorder tests: applies batches at most once per id (like the
// real stores), can be told to fail, or to apply and then report a failure (a timeout after
// the write), and sums what it holds.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "auth/usage_store.h"

namespace keygate::auth::testing {

class FakeUsageStore final : public UsageStore {
 public:
  struct State {
    std::mutex mutex;
    std::vector<std::string> attempts;  // batch ids, in call order
    std::vector<UsageBatch> applied;
    std::set<std::string> ids;
    int fail_next = 0;             // refuse without applying
    int apply_then_fail_next = 0;  // apply, then report a failure (a lost reply)
  };

  explicit FakeUsageStore(std::shared_ptr<State> state) : state_(std::move(state)) {}

  StoreStatus apply(const UsageBatch& batch) override {
    std::lock_guard lock(state_->mutex);
    state_->attempts.push_back(batch.id);
    if (state_->fail_next > 0) {
      --state_->fail_next;
      return StoreStatus::error(StoreErrc::unavailable, "fake outage");
    }
    if (state_->ids.insert(batch.id).second) state_->applied.push_back(batch);
    if (state_->apply_then_fail_next > 0) {
      --state_->apply_then_fail_next;
      return StoreStatus::error(StoreErrc::unavailable, "fake timeout after the write");
    }
    return StoreStatus::success();
  }
  StoreResult<KeyUsage> key_usage(const KeyRecord& key) override {
    StoreResult<KeyUsage> result;
    result.value.key_id = key.id;
    result.value.counts = counts(key.id);
    return result;
  }
  StoreResult<std::uint64_t> org_calls(const std::string& org, UnixSeconds start) override {
    return {StoreStatus::success(), calls(org, start)};
  }

  KeyCounts counts(const std::string& key_id) const {
    std::lock_guard lock(state_->mutex);
    KeyCounts sum;
    for (const UsageBatch& batch : state_->applied)
      if (auto it = batch.keys.find(key_id); it != batch.keys.end()) sum.add(it->second.counts);
    return sum;
  }
  std::uint64_t calls(const std::string& org, UnixSeconds start) const {
    std::lock_guard lock(state_->mutex);
    std::uint64_t sum = 0;
    for (const UsageBatch& batch : state_->applied)
      if (auto it = batch.org_calls.find(org); it != batch.org_calls.end())
        if (auto p = it->second.find(start); p != it->second.end()) sum += p->second;
    return sum;
  }
  // Last uses written for `key_id`, in order.
  std::vector<LastUse> last_uses(const std::string& key_id) const {
    std::lock_guard lock(state_->mutex);
    std::vector<LastUse> uses;
    for (const UsageBatch& batch : state_->applied)
      if (auto it = batch.keys.find(key_id); it != batch.keys.end() && it->second.last_use)
        uses.push_back(*it->second.last_use);
    return uses;
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace keygate::auth::testing
