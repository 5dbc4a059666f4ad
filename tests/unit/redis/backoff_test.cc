#include "redis/backoff.h"

#include <gtest/gtest.h>

namespace keygate::redis {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsToTheCeilingAndStaysWithinBounds) {
  Backoff backoff(milliseconds(100), milliseconds(5000), 42);
  milliseconds base(100);
  for (int attempt = 0; attempt < 50; ++attempt) {
    milliseconds delay = backoff.next();
    EXPECT_GE(delay, std::max(milliseconds(100), base / 2)) << "attempt " << attempt;
    EXPECT_LE(delay, base) << "attempt " << attempt;
    base = std::min(base * 2, milliseconds(5000));
  }
}

TEST(Backoff, ResetStartsAgainFromTheFloor) {
  Backoff backoff(milliseconds(100), milliseconds(5000), 7);
  for (int i = 0; i < 10; ++i) backoff.next();
  backoff.reset();
  EXPECT_EQ(backoff.next(), milliseconds(100));
}

TEST(Backoff, JittersAtTheCeiling) {
  Backoff backoff(milliseconds(100), milliseconds(5000), 1);
  for (int i = 0; i < 10; ++i) backoff.next();
  bool varied = false;
  milliseconds first = backoff.next();
  for (int i = 0; i < 20; ++i) varied |= backoff.next() != first;
  EXPECT_TRUE(varied);
}

TEST(Backoff, SameSeedSameDelays) {
  Backoff a(milliseconds(10), milliseconds(1000), 99);
  Backoff b(milliseconds(10), milliseconds(1000), 99);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.next(), b.next());
}

}  // namespace
}  // namespace keygate::redis
