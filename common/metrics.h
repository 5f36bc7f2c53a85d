#pragma once

// Prometheus metrics: a registry of counters, gauges and histograms rendered in the text
// exposition format 0.0.4 for each daemon's /metrics.
//
// Metrics are created once at startup (or when a room or pool appears) and then updated on the
// request path. Updates touch only atomics; the registry's mutex is taken when registering and
// when rendering.
//
// Misuse is a programming error, not an input error, so it aborts the process with a message
// on stderr: an invalid metric or label name, a repeated label name, the label "le" on a
// histogram, registering a name again with another type, or a histogram again (same name and
// labels) with other bucket bounds.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace anteroom::common {

// Label name/value pairs, e.g. {{"durability", "sync"}}. Order does not matter.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count. Thread-safe and lock-free.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe and lock-free.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Sub(double delta) { value_.fetch_add(-delta, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets. Thread-safe and lock-free. A render that races with
// Observe may see the new count before the new sum; _count always equals the +Inf bucket.
class Histogram {
 public:
  // REQUIRES: `bounds` strictly increasing and finite (the +Inf bucket is implicit).
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `value` in the first bucket whose upper bound is >= value.
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative counts, one per bound plus the +Inf bucket last.
  std::vector<uint64_t> BucketCounts() const;
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 entries.
  std::atomic<double> sum_{0};
};

// Owns every metric of a process. Thread-safe. Returned pointers are never null and stay
// valid for the registry's lifetime.
class MetricsRegistry {
 public:
  MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;
  ~MetricsRegistry();

  // Each returns the metric registered under `name` and `labels`, creating it on first use, so
  // registering twice returns the same object. The first registration of a name sets its help.
  // REQUIRES: `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
  // without a leading "__"; the name is not registered with another type (see above).
  Counter* RegisterCounter(std::string_view name, std::string_view help,
                           const MetricLabels& labels = {});
  Gauge* RegisterGauge(std::string_view name, std::string_view help,
                       const MetricLabels& labels = {});
  // REQUIRES: as Histogram's constructor; the same bounds when registered again.
  Histogram* RegisterHistogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds, const MetricLabels& labels = {});

  // A gauge whose value `read` computes at each render, for values owned elsewhere (queue
  // lengths, open connections). Registering the same name and labels again replaces `read`.
  // `read` runs on the rendering thread without the registry's lock held; it must be
  // thread-safe and must stay callable for the registry's lifetime.
  void RegisterCallbackGauge(std::string_view name, std::string_view help,
                             std::function<double()> read, const MetricLabels& labels = {});

  // Stops exporting the series of `name` with `labels` (of a room that was deleted, say); a
  // later Register* of them starts a new series from zero. Pointers to the removed metric stay
  // valid for the registry's lifetime, but what is written to them is no longer shown; so a
  // removed series keeps its few bytes until the registry goes (meant for rare removals, such
  // as deleted rooms). No-op when there is no such series.
  void RemoveSeries(std::string_view name, const MetricLabels& labels);

  // Every metric in text exposition format 0.0.4: families sorted by name, each with one
  // HELP and TYPE line, series in registration order, histograms as _bucket{le=...}, _sum and
  // _count. Label values and help texts are escaped.
  std::string RenderPrometheusText() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };                  // As rendered.
  enum class Kind { kCounter, kGauge, kCallbackGauge, kHistogram };  // As registered.
  struct Series;
  struct Family;

  // Finds or creates the series with its metric; aborts on misuse. `bounds` only for
  // histograms.
  Series* FindOrCreate(std::string_view name, std::string_view help, Kind kind,
                       const MetricLabels& labels, const std::vector<double>* bounds)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_ ABSL_GUARDED_BY(mu_);
  // Removed series, kept so that pointers handed out (and renders in progress) stay valid.
  std::vector<std::unique_ptr<Series>> removed_ ABSL_GUARDED_BY(mu_);
};

// Registers anteroom_build_info{component="<component>",version="<ANTEROOM_VERSION>"} 1.
void RegisterBuildInfo(MetricsRegistry& registry, std::string_view component);

}  // namespace anteroom::common
