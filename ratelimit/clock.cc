#include "ratelimit/clock.h"

#include <chrono>

namespace keygate::ratelimit {

Clock system_clock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

}  // namespace keygate::ratelimit
