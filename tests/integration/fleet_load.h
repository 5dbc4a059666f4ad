// Load over a fleet of sidecars for the limit tests: clients spread over the sidecars send
// `total` requests with one key in all, and what came back is counted.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {

struct Tally {
  int admitted = 0, refused = 0, other = 0;  // 200, 429, anything else
};

inline Tally hammer(const std::vector<std::unique_ptr<KeygateProcess>>& sidecars,
                    const std::string& target, const std::string& key, int total) {
  std::atomic<int> admitted{0}, refused{0}, other{0}, next{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      KeepAliveClient client(sidecars[c % sidecars.size()]->proxy_port());
      while (next.fetch_add(1) < total) {
        auto res = client.get(target, {{"Authorization", "Bearer " + key}});
        if (res.status == 200)
          ++admitted;
        else if (res.status == 429)
          ++refused;
        else
          ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  return {admitted.load(), refused.load(), other.load()};
}

}  // namespace keygate::testing
