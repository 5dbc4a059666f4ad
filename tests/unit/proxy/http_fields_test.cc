#include "proxy/http_fields.h"

#include <gtest/gtest.h>

#include <thread>

namespace keygate::proxy {
namespace {

TEST(FieldPool, FreedBlocksAreReusedPerSizeClass) {
  void* a = field_pool::allocate(100);
  const auto before = field_pool::cached_blocks();
  field_pool::deallocate(a, 100);
  EXPECT_EQ(field_pool::cached_blocks(), before + 1);
  void* b = field_pool::allocate(120);  // same 128-byte class
  EXPECT_EQ(b, a);
  EXPECT_EQ(field_pool::cached_blocks(), before);
  field_pool::deallocate(b, 120);
}

TEST(FieldPool, CacheIsBoundedAndLargeBlocksAreNotKept) {
  // 64-byte blocks: twice as many as the byte bound lets a thread keep.
  const std::size_t bound = field_pool::kMaxCachedBytes / 64;
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < bound * 2; ++i) blocks.push_back(field_pool::allocate(40));
  const auto before = field_pool::cached_blocks();
  for (void* block : blocks) field_pool::deallocate(block, 40);
  EXPECT_GT(field_pool::cached_blocks() - before, bound / 2);  // a burst is absorbed...
  EXPECT_LE(field_pool::cached_blocks() - before, bound);      // ...within the bound
  while (field_pool::cached_blocks() > before) ::operator delete(field_pool::allocate(40));

  const auto with_small = field_pool::cached_blocks();
  void* large = field_pool::allocate(4096);
  field_pool::deallocate(large, 4096);
  EXPECT_EQ(field_pool::cached_blocks(), with_small);
}

TEST(FieldPool, BlocksMayBeFreedOnAnotherThread) {
  void* block = field_pool::allocate(64);
  std::thread other([block] { field_pool::deallocate(block, 64); });
  other.join();  // kept (or freed) by the other thread's lists, which die with it
  SUCCEED();
}

TEST(FieldPool, FieldsUseThePool) {
  std::size_t while_held = 0;
  {
    Fields fields;
    fields.insert("X-Forwarded-For", "10.0.0.1");
    fields.insert("X-Request-Id", "abc");
    EXPECT_EQ(fields["x-forwarded-for"], "10.0.0.1");
    while_held = field_pool::cached_blocks();  // earlier tests may have left blocks cached
  }
  EXPECT_GE(field_pool::cached_blocks(), while_held + 2);
}

}  // namespace
}  // namespace keygate::proxy
