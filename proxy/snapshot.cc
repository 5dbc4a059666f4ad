#include "proxy/snapshot.h"

#include "proxy/proxy_metrics.h"

namespace keygate::proxy {
namespace {
constexpr const char* kClassNames[6] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
}

Snapshot::Snapshot(conf::ConfigPtr cfg, ProxyMetrics& metrics)
    : config(std::move(cfg)), router(*config) {
  routes.reserve(config->routes.size());
  for (const auto& route : config->routes) {
    RouteRuntime rt;
    rt.config = &route;
    for (std::size_t i = 0; i < config->upstreams.size(); ++i)
      if (config->upstreams[i].name == route.upstream) rt.upstream_index = i;
    for (int c = 0; c < 6; ++c) {
      rt.requests_by_class[c] = &metrics.requests.with({route.name, kClassNames[c]});
      rt.duration_by_class[c] = &metrics.request_latency.with({route.name, kClassNames[c]});
    }
    rt.upstream_latency = &metrics.upstream_latency.with({route.name});
    routes.push_back(rt);
  }
  for (const auto& listener : config->listeners) {
    auto& cidrs = trusted_proxies.emplace_back();
    for (const auto& text : listener.trusted_proxies)
      if (auto cidr = auth::Cidr::parse(text)) cidrs.push_back(*cidr);  // validated at load
  }
}

}  // namespace keygate::proxy
