// The hash of the per-worker tables keyed by counter identities (append_counter_identity):
// transparent, so a lookup by std::string_view needs no std::string.
#pragma once

#include <functional>
#include <string_view>

namespace keygate::ratelimit {

struct IdentityHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

}  // namespace keygate::ratelimit
