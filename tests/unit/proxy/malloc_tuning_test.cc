#include "proxy/malloc_tuning.h"

#include <gtest/gtest.h>

namespace keygate::proxy {
namespace {

TEST(MallocTuningTest, AddsTheTcacheCountAndKeepsOtherTunables) {
  EXPECT_EQ(tunables_with_tcache(""), "glibc.malloc.tcache_count=128");
  EXPECT_EQ(tunables_with_tcache("glibc.malloc.arena_max=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=128");
}

TEST(MallocTuningTest, AnyTcacheCountAlreadySetIsLeftAlone) {
  EXPECT_EQ(tunables_with_tcache("glibc.malloc.tcache_count=7"), std::nullopt);
  EXPECT_EQ(tunables_with_tcache("glibc.malloc.arena_max=2:glibc.malloc.tcache_count=128"),
            std::nullopt);
}

}  // namespace
}  // namespace keygate::proxy
