// Everything derived from one Config that requests need, built once per (re)load and shared
// read-only by every worker thread.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "auth/cidr.h"
#include "conf/config.h"
#include "proxy/metrics_registry.h"
#include "proxy/router.h"

namespace keygate::proxy {

class ProxyMetrics;

struct RouteRuntime {
  const conf::RouteConfig* config = nullptr;
  std::size_t upstream_index = 0;                 // into Config::upstreams
  std::array<Counter*, 6> requests_by_class{};    // 1xx..5xx, [0] = no response
  std::array<Histogram*, 6> duration_by_class{};  // the same classes
  Histogram* upstream_latency = nullptr;
};

struct Snapshot {
  Snapshot(conf::ConfigPtr config, ProxyMetrics& metrics);

  conf::ConfigPtr config;
  Router router;
  std::vector<RouteRuntime> routes;  // parallel to config->routes
  // Parallel to config->listeners: the peers whose forwarding headers are believed.
  std::vector<std::vector<auth::Cidr>> trusted_proxies;

  const RouteRuntime& runtime(const conf::RouteConfig* route) const {
    return routes[static_cast<std::size_t>(route - config->routes.data())];
  }
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace keygate::proxy
