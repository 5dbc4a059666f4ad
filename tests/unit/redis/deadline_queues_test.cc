#include "redis/deadline_queues.h"

#include <gtest/gtest.h>

#include <vector>

namespace keygate::redis {
namespace {

using Clock = DeadlineQueues::Clock;
using std::chrono::milliseconds;

std::vector<std::uint64_t> due(DeadlineQueues& queues, Clock::time_point now) {
  std::vector<std::uint64_t> out;
  queues.pop_due(now, [&](std::uint64_t seq) { out.push_back(seq); });
  return out;
}

TEST(DeadlineQueues, EarliestAcrossTimeouts) {
  DeadlineQueues queues;
  Clock::time_point t0{};
  queues.add(milliseconds(250), t0 + milliseconds(250), 0);
  queues.add(milliseconds(20), t0 + milliseconds(21), 1);
  queues.add(milliseconds(250), t0 + milliseconds(252), 2);
  ASSERT_TRUE(queues.earliest());
  EXPECT_EQ(*queues.earliest(), t0 + milliseconds(21));
  EXPECT_EQ(due(queues, t0 + milliseconds(100)), std::vector<std::uint64_t>{1});
  EXPECT_EQ(due(queues, t0 + milliseconds(300)), (std::vector<std::uint64_t>{0, 2}));
  EXPECT_FALSE(queues.earliest());
}

TEST(DeadlineQueues, AnsweredCommandsLeaveAtOnce) {
  DeadlineQueues queues;
  Clock::time_point t0{};
  auto q0 = queues.add(milliseconds(250), t0 + milliseconds(250), 0);
  auto q1 = queues.add(milliseconds(20), t0 + milliseconds(20), 1);
  queues.remove_if_first(q0, 0);
  queues.remove_if_first(q1, 1);
  EXPECT_EQ(queues.size(), 0u);
  // Removing something that is not first is a no-op.
  auto q2 = queues.add(milliseconds(20), t0 + milliseconds(30), 2);
  queues.add(milliseconds(20), t0 + milliseconds(31), 3);
  queues.remove_if_first(q2, 3);
  EXPECT_EQ(queues.size(), 2u);
}

TEST(DeadlineQueues, ManyDistinctTimeoutsShareQueuesInOrder) {
  DeadlineQueues queues;
  Clock::time_point t0{};
  std::uint64_t seq = 0;
  for (int timeout = 100; timeout > 80; --timeout)
    queues.add(milliseconds(timeout), t0 + milliseconds(timeout), seq++);
  std::vector<std::uint64_t> order = due(queues, t0 + milliseconds(1000));
  ASSERT_EQ(order.size(), 20u);
  EXPECT_EQ(queues.size(), 0u);
  // Everything due at 85 ms must have been popped when asking at 85 ms.
  DeadlineQueues again;
  seq = 0;
  for (int timeout = 100; timeout > 80; --timeout)
    again.add(milliseconds(timeout), t0 + milliseconds(timeout), seq++);
  auto early = due(again, t0 + milliseconds(85));
  EXPECT_EQ(early.size(), 5u);  // 81..85
  EXPECT_EQ(*again.earliest(), t0 + milliseconds(86));
}

}  // namespace
}  // namespace keygate::redis
