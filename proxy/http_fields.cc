#include "proxy/http_fields.h"

#include <array>
#include <new>

namespace keygate::proxy::field_pool {
namespace {

struct FreeBlock {
  FreeBlock* next;
};

struct FreeLists {
  std::array<FreeBlock*, kClasses> head{};
  std::array<std::size_t, kClasses> count{};
  std::size_t cached_bytes = 0;

  ~FreeLists() {
    for (auto* block : head) {
      while (block) {
        auto* next = block->next;
        ::operator delete(block);
        block = next;
      }
    }
  }
};

// Cleared when this thread's lists are destroyed: a block freed after that (by some object
// destroyed later in thread exit) goes straight back to the heap.
thread_local bool lists_alive = false;

struct LiveFreeLists : FreeLists {
  LiveFreeLists() { lists_alive = true; }
  ~LiveFreeLists() { lists_alive = false; }
};

thread_local LiveFreeLists lists;

// Class c holds blocks of (c + 1) * kClassBytes bytes.
std::size_t class_of(std::size_t bytes) {
  return (bytes + kClassBytes - 1) / kClassBytes - 1;
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  const auto c = class_of(bytes);
  if (c >= kClasses) return ::operator new(bytes);
  if (auto* block = lists.head[c]) {
    lists.head[c] = block->next;
    --lists.count[c];
    lists.cached_bytes -= (c + 1) * kClassBytes;
    return block;
  }
  return ::operator new((c + 1) * kClassBytes);
}

void deallocate(void* block, std::size_t bytes) noexcept {
  if (!block) return;
  if (bytes == 0) bytes = 1;
  const auto c = class_of(bytes);
  if (c >= kClasses || !lists_alive ||
      lists.cached_bytes + (c + 1) * kClassBytes > kMaxCachedBytes) {
    ::operator delete(block);
    return;
  }
  auto* free_block = static_cast<FreeBlock*>(block);
  free_block->next = lists.head[c];
  lists.head[c] = free_block;
  ++lists.count[c];
  lists.cached_bytes += (c + 1) * kClassBytes;
}

std::size_t cached_blocks() {
  std::size_t total = 0;
  for (auto n : lists.count) total += n;
  return total;
}

}  // namespace keygate::proxy::field_pool
