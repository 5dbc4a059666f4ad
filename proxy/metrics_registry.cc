#include "proxy/metrics_registry.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "proxy/error_body.h"

namespace keygate::proxy {
namespace {

void atomic_add(std::atomic<double>& target, double v) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + v, std::memory_order_relaxed)) {
  }
}

// The shortest text that reads back as the same double: le="0.0005", not the
// "0.00050000000000000001" that %.17g prints for the nearest binary value.
std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  // Plain decimals in the range metrics live in ("0.0005", "10"); exponents only outside it,
  // where fixed notation would print hundreds of digits.
  const double magnitude = std::fabs(v);
  const bool plain = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, v,
                                    plain ? std::chars_format::fixed : std::chars_format::general);
  return std::string(buf, result.ptr);
}

void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, const std::string& extra_name = {},
                   const std::string& extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!first) out += ',';
    first = false;
    out += names[i];
    out += "=\"";
    append_json_escaped(out, values[i]);  // same escapes as Prometheus: \\ \" \n
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name + "=\"" + extra_value + "\"";
  }
  out += '}';
}

void append_header(std::string& out, const std::string& name, const std::string& help,
                   const char* type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Gauge::add(double v) {
  atomic_add(value_, v);
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, seconds);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

Family<Counter>& MetricsRegistry::counter(std::string name, std::string help,
                                          std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  counters_.push_back(
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels),
                                        [] { return std::make_unique<Counter>(); }));
  return *counters_.back();
}

Family<Gauge>& MetricsRegistry::gauge(std::string name, std::string help,
                                      std::vector<std::string> labels) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                                    std::move(labels),
                                                    [] { return std::make_unique<Gauge>(); }));
  return *gauges_.back();
}

Family<Histogram>& MetricsRegistry::histogram(std::string name, std::string help,
                                              std::vector<std::string> labels,
                                              std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(labels),
      [bounds] { return std::make_unique<Histogram>(bounds); }));
  return *histograms_.back();
}

void MetricsRegistry::callback_gauge(std::string name, std::string help,
                                     std::function<double()> read) {
  std::lock_guard lock(mutex_);
  callbacks_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(8192);
  for (const auto& family : counters_) {
    append_header(out, family->name(), family->help(), "counter");
    family->for_each([&](const std::vector<std::string>& values, const Counter& c) {
      out += family->name();
      append_labels(out, family->labels(), values);
      out += ' ' + std::to_string(c.value()) + '\n';
    });
  }
  for (const auto& family : gauges_) {
    append_header(out, family->name(), family->help(), "gauge");
    family->for_each([&](const std::vector<std::string>& values, const Gauge& g) {
      out += family->name();
      append_labels(out, family->labels(), values);
      out += ' ' + format_number(g.value()) + '\n';
    });
  }
  for (const auto& cb : callbacks_) {
    append_header(out, cb.name, cb.help, "gauge");
    out += cb.name + ' ' + format_number(cb.read()) + '\n';
  }
  for (const auto& family : histograms_) {
    append_header(out, family->name(), family->help(), "histogram");
    family->for_each([&](const std::vector<std::string>& values, const Histogram& h) {
      const auto snap = h.snapshot();
      for (size_t i = 0; i <= h.bounds().size(); ++i) {
        const double bound =
            i < h.bounds().size() ? h.bounds()[i] : std::numeric_limits<double>::infinity();
        out += family->name() + "_bucket";
        append_labels(out, family->labels(), values, "le", format_number(bound));
        out += ' ' + std::to_string(snap.cumulative[i]) + '\n';
      }
      out += family->name() + "_sum";
      append_labels(out, family->labels(), values);
      out += ' ' + format_number(snap.sum) + '\n';
      out += family->name() + "_count";
      append_labels(out, family->labels(), values);
      out += ' ' + std::to_string(snap.count) + '\n';
    });
  }
  return out;
}

}  // namespace keygate::proxy
