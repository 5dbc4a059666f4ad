// The (pointer, length) arrays hiredis' *Argv functions take, without allocating for the usual
// short commands (internal to redis/).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace keygate::redis {

class Argv {
 public:
  explicit Argv(std::span<const std::string_view> args) {
    if (args.size() > kInline) {
      heap_pointers_.resize(args.size());
      heap_lengths_.resize(args.size());
      pointers_ = heap_pointers_.data();
      lengths_ = heap_lengths_.data();
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
      // An empty string_view may carry a null pointer; hiredis would memcpy from it.
      pointers_[i] = args[i].data() ? args[i].data() : "";
      lengths_[i] = args[i].size();
    }
    count_ = static_cast<int>(args.size());
  }
  Argv(const Argv&) = delete;
  Argv& operator=(const Argv&) = delete;

  int count() const { return count_; }
  const char** pointers() { return pointers_; }
  const std::size_t* lengths() const { return lengths_; }

 private:
  static constexpr std::size_t kInline = 16;
  const char* inline_pointers_[kInline];
  std::size_t inline_lengths_[kInline];
  std::vector<const char*> heap_pointers_;
  std::vector<std::size_t> heap_lengths_;
  const char** pointers_ = inline_pointers_;
  std::size_t* lengths_ = inline_lengths_;
  int count_ = 0;
};

}  // namespace keygate::redis
