#include "redis/deadline_queues.h"

#include <algorithm>

namespace keygate::redis {

std::size_t DeadlineQueues::pick_queue(Clock::duration timeout) {
  for (std::size_t i = 0; i < queues_.size(); ++i)
    if (queues_[i].timeout == timeout) return i;
  if (queues_.size() < kMaxQueues) {
    queues_.push_back(Queue{timeout, {}});
    return queues_.size() - 1;
  }
  for (std::size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].items.empty()) {
      queues_[i].timeout = timeout;
      return i;
    }
  }
  std::size_t best = 0;
  for (std::size_t i = 1; i < queues_.size(); ++i) {
    auto distance = [&](std::size_t q) {
      auto d = queues_[q].timeout - timeout;
      return d < Clock::duration::zero() ? -d : d;
    };
    if (distance(i) < distance(best)) best = i;
  }
  return best;
}

std::uint16_t DeadlineQueues::add(Clock::duration timeout, Clock::time_point deadline,
                                  std::uint64_t seq) {
  std::size_t index = pick_queue(timeout);
  auto& items = queues_[index].items;
  // Almost always appends: only a shared queue can see a deadline earlier than its last one.
  auto position = items.end();
  while (position != items.begin() && std::prev(position)->deadline > deadline) --position;
  items.insert(position, Item{deadline, seq});
  return static_cast<std::uint16_t>(index);
}

void DeadlineQueues::remove_if_first(std::uint16_t queue, std::uint64_t seq) {
  if (queue >= queues_.size()) return;
  auto& items = queues_[queue].items;
  if (!items.empty() && items.front().seq == seq) items.pop_front();
}

std::optional<DeadlineQueues::Clock::time_point> DeadlineQueues::earliest() const {
  std::optional<Clock::time_point> result;
  for (const auto& queue : queues_)
    if (!queue.items.empty() && (!result || queue.items.front().deadline < *result))
      result = queue.items.front().deadline;
  return result;
}

void DeadlineQueues::clear() {
  for (auto& queue : queues_) queue.items.clear();
}

std::size_t DeadlineQueues::size() const {
  std::size_t total = 0;
  for (const auto& queue : queues_) total += queue.items.size();
  return total;
}

}  // namespace keygate::redis
