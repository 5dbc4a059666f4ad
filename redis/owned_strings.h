// Command arguments kept past the call that passed them as views (for a retry after NOSCRIPT,
// MOVED or ASK): one buffer and one offset table, since the copy is made on the hot path.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::redis {

class OwnedStrings {
 public:
  explicit OwnedStrings(std::span<const std::string_view> first,
                        std::span<const std::string_view> second = {}) {
    std::size_t total = 0;
    for (auto view : first) total += view.size();
    for (auto view : second) total += view.size();
    bytes_.reserve(total);
    ends_.reserve(first.size() + second.size());
    for (auto view : first) append(view);
    for (auto view : second) append(view);
  }

  // Views into this object, which must stay put while they are used.
  std::vector<std::string_view> views() const {
    std::vector<std::string_view> out;
    out.reserve(ends_.size());
    std::size_t begin = 0;
    for (auto end : ends_) {
      out.emplace_back(bytes_.data() + begin, end - begin);
      begin = end;
    }
    return out;
  }

 private:
  void append(std::string_view view) {
    bytes_.append(view);
    ends_.push_back(bytes_.size());
  }

  std::string bytes_;
  std::vector<std::size_t> ends_;
};

}  // namespace keygate::redis
