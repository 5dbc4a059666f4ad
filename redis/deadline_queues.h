// Deadlines of the commands waiting on one connection, cheap enough for every command.
//
// Commands with equal timeouts expire in the order they were sent, so one FIFO per distinct
// timeout stays sorted by appending: adding and removing cost O(1) and only the first entry of
// each queue needs a timer. A connection sees few distinct timeouts (one per kind of call), so
// the queues are a short vector; past kMaxQueues a timeout shares the closest queue and is
// inserted in order from the back.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace keygate::redis {

class DeadlineQueues {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxQueues = 8;

  // Returns the queue that holds `seq`, to hand back to remove_if_first().
  std::uint16_t add(Clock::duration timeout, Clock::time_point deadline, std::uint64_t seq);

  // `seq` was answered. Replies come in sending order, so an answered command that has not
  // expired is the first of its queue unless queues were shared; otherwise it stays until
  // pop_due() and the caller ignores it then.
  void remove_if_first(std::uint16_t queue, std::uint64_t seq);

  std::optional<Clock::time_point> earliest() const;

  // Removes every entry due at `now` and calls on_due(seq) for each.
  template <class F>
  void pop_due(Clock::time_point now, F&& on_due) {
    for (auto& queue : queues_) {
      while (!queue.items.empty() && queue.items.front().deadline <= now) {
        std::uint64_t seq = queue.items.front().seq;
        queue.items.pop_front();
        on_due(seq);
      }
    }
  }

  void clear();
  std::size_t size() const;

 private:
  struct Item {
    Clock::time_point deadline;
    std::uint64_t seq;
  };
  struct Queue {
    Clock::duration timeout;
    std::deque<Item> items;
  };
  std::size_t pick_queue(Clock::duration timeout);

  std::vector<Queue> queues_;
};

}  // namespace keygate::redis
