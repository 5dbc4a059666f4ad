#include "proxy/proxy_metrics.h"

namespace keygate::proxy {
namespace {
const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

ProxyMetrics::ProxyMetrics()
    : requests(registry.counter("keygate_requests_total",
                                "Requests answered, by route and status class",
                                {"route", "class"})),
      request_latency(registry.histogram("keygate_request_duration_seconds",
                                         "Time from request header to the end of the response, "
                                         "by route and status class",
                                         {"route", "class"}, kLatencyBuckets)),
      upstream_latency(registry.histogram("keygate_upstream_duration_seconds",
                                          "Time from request sent to response header received",
                                          {"route"}, kLatencyBuckets)),
      upstream_errors(registry.counter("keygate_upstream_errors_total",
                                       "Upstream failures by upstream and reason",
                                       {"upstream", "reason"})),
      upstream_tls_handshakes(
          registry.counter("keygate_upstream_tls_handshakes_total",
                           "TLS handshakes with https upstreams, by upstream and whether they "
                           "resumed an earlier session",
                           {"upstream", "resumed"})),
      rejected(registry.counter("keygate_rejected_requests_total",
                                "Requests refused before routing, by reason", {"reason"})),
      connections_open(
          registry.gauge("keygate_client_connections", "Client connections open").with({})),
      connections_total(
          registry.counter("keygate_client_connections_total", "Client connections accepted")
              .with({})),
      config_reloads(registry.counter("keygate_config_reloads_total",
                                      "Configuration reloads by result", {"result"})),
      config_reloads_ok(config_reloads.with({"ok"})),
      config_reloads_failed(config_reloads.with({"failed"})) {}

}  // namespace keygate::proxy
