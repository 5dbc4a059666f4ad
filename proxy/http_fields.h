// The header containers of proxied messages and the allocator behind them.
//
// Beast allocates every header field (and the target and reason strings) separately, about
// a dozen allocations per proxied request, all made and freed on one worker thread. A free
// list per size class and per thread turns each into a pointer swap instead of a trip
// through malloc's bins. The lists must absorb the swing of a whole burst of concurrent
// requests (50 connections hold some 600 fields at once, then free them together), so they
// are bounded by bytes rather than by a short length: each thread keeps at most
// kMaxCachedBytes; beyond that, and for blocks larger than the largest class, memory goes
// back to the heap.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>

namespace keygate::proxy {

namespace http = boost::beast::http;

namespace field_pool {
inline constexpr std::size_t kClassBytes = 32;
inline constexpr std::size_t kClasses = 16;  // blocks up to 512 bytes are pooled
inline constexpr std::size_t kMaxCachedBytes = 1024 * 1024;

void* allocate(std::size_t bytes);
void deallocate(void* block, std::size_t bytes) noexcept;
// Blocks this thread holds for reuse (for tests).
std::size_t cached_blocks();
}  // namespace field_pool

// Stateless, so any instance frees what another allocated, on any thread.
template <class T>
struct FieldAllocator {
  using value_type = T;

  FieldAllocator() noexcept = default;
  template <class U>
  FieldAllocator(const FieldAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(field_pool::allocate(n * sizeof(T))); }
  void deallocate(T* block, std::size_t n) noexcept {
    field_pool::deallocate(block, n * sizeof(T));
  }

  template <class U>
  bool operator==(const FieldAllocator<U>&) const noexcept {
    return true;
  }
};

using Fields = http::basic_fields<FieldAllocator<char>>;
using RequestHeader = http::request_header<Fields>;
using ResponseHeader = http::response_header<Fields>;

}  // namespace keygate::proxy
