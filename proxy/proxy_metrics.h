// Every metric the proxy exposes, declared in one place.
#pragma once

#include "proxy/metrics_registry.h"

namespace keygate::proxy {

class ProxyMetrics {
 public:
  ProxyMetrics();

  MetricsRegistry registry;

  Family<Counter>& requests;                 // route, class
  Family<Histogram>& request_latency;        // route, class (end to end)
  Family<Histogram>& upstream_latency;       // route (request sent -> response header)
  Family<Counter>& upstream_errors;          // upstream, reason
  Family<Counter>& upstream_tls_handshakes;  // upstream, resumed (true: an earlier session)
  Family<Counter>& rejected;                 // reason (bad_request, headers_too_large, ...)
  Gauge& connections_open;
  Counter& connections_total;
  Family<Counter>& config_reloads;  // result
  Counter& config_reloads_ok;
  Counter& config_reloads_failed;
};

}  // namespace keygate::proxy
