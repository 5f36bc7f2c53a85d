#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#ifndef ANTEROOM_VERSION
#define ANTEROOM_VERSION "unknown"
#endif

namespace anteroom::common {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "anteroom: metrics registry misuse: %s\n", what.c_str());
  std::abort();
}

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label pairs sorted by name, so the same labels in any order name the same series.
MetricLabels Canonical(std::string_view metric, const MetricLabels& labels, bool histogram) {
  MetricLabels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& label = sorted[i].first;
    if (!ValidName(label, false) || label.rfind("__", 0) == 0) {
      Die("invalid label name '" + label + "' on " + std::string(metric));
    }
    if (histogram && label == "le")
      Die("label 'le' is reserved on histogram " + std::string(metric));
    if (i > 0 && sorted[i - 1].first == label) {
      Die("label '" + label + "' given twice on " + std::string(metric));
    }
  }
  return sorted;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"') {
      out += "\\\"";
    } else {
      out += EscapeHelp(std::string_view(&c, 1));
    }
  }
  return out;
}

// `{a="x",b="y"}` with `extra` (already rendered, e.g. `le="0.5"`) last; "" when empty.
std::string LabelText(const MetricLabels& labels, const std::string& extra = "") {
  if (labels.empty() && extra.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ",";
    out += name + "=\"" + EscapeLabelValue(value) + "\"";
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ",";
    out += extra;
  }
  return out + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  size_t bucket = std::isnan(value)
                      ? bounds_.size()
                      : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  return counts;
}

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  for (uint64_t n : BucketCounts()) total += n;
  return total;
}

struct MetricsRegistry::Series {
  MetricLabels labels;  // Canonical order.
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> read;  // A callback gauge; written under mu_.
};

struct MetricsRegistry::Family {
  std::string help;
  Type type;
  std::vector<std::unique_ptr<Series>> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series* MetricsRegistry::FindOrCreate(std::string_view name, std::string_view help,
                                                       Kind kind, const MetricLabels& labels,
                                                       const std::vector<double>* bounds) {
  Type type = kind == Kind::kCounter     ? Type::kCounter
              : kind == Kind::kHistogram ? Type::kHistogram
                                         : Type::kGauge;
  if (!ValidName(name, true)) Die("invalid metric name '" + std::string(name) + "'");
  MetricLabels canonical = Canonical(name, labels, type == Type::kHistogram);
  if (bounds != nullptr) {
    for (size_t i = 0; i < bounds->size(); ++i) {
      if (!std::isfinite((*bounds)[i]) || (i > 0 && (*bounds)[i - 1] >= (*bounds)[i])) {
        Die("bucket bounds of " + std::string(name) + " must be finite and increasing");
      }
    }
  }
  mu_.AssertHeld();
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto family = std::make_unique<Family>();
    family->help = std::string(help);
    family->type = type;
    it = families_.emplace(std::string(name), std::move(family)).first;
  }
  Family& family = *it->second;
  if (family.type != type) Die(std::string(name) + " registered again with another type");
  for (const auto& series : family.series) {
    if (series->labels != canonical) continue;
    if (bounds != nullptr && series->histogram->bounds() != *bounds) {
      Die(std::string(name) + " registered again with other bucket bounds");
    }
    if ((kind == Kind::kGauge && series->gauge == nullptr) ||
        (kind == Kind::kCallbackGauge && series->gauge != nullptr)) {
      Die(std::string(name) + " registered as a gauge and as a callback gauge");
    }
    return series.get();
  }
  // The metric is created under the lock, before the series becomes visible to renders.
  auto series = std::make_unique<Series>();
  series->labels = std::move(canonical);
  switch (kind) {
    case Kind::kCounter:
      series->counter = std::make_unique<Counter>();
      break;
    case Kind::kGauge:
      series->gauge = std::make_unique<Gauge>();
      break;
    case Kind::kCallbackGauge:
      break;
    case Kind::kHistogram:
      series->histogram = std::make_unique<Histogram>(*bounds);
      break;
  }
  family.series.push_back(std::move(series));
  return family.series.back().get();
}

Counter* MetricsRegistry::RegisterCounter(std::string_view name, std::string_view help,
                                          const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  return FindOrCreate(name, help, Kind::kCounter, labels, nullptr)->counter.get();
}

Gauge* MetricsRegistry::RegisterGauge(std::string_view name, std::string_view help,
                                      const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  return FindOrCreate(name, help, Kind::kGauge, labels, nullptr)->gauge.get();
}

Histogram* MetricsRegistry::RegisterHistogram(std::string_view name, std::string_view help,
                                              std::vector<double> bounds,
                                              const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  return FindOrCreate(name, help, Kind::kHistogram, labels, &bounds)->histogram.get();
}

void MetricsRegistry::RegisterCallbackGauge(std::string_view name, std::string_view help,
                                            std::function<double()> read,
                                            const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  FindOrCreate(name, help, Kind::kCallbackGauge, labels, nullptr)->read = std::move(read);
}

void MetricsRegistry::RemoveSeries(std::string_view name, const MetricLabels& labels) {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return;
  Family& family = *it->second;
  const MetricLabels canonical = Canonical(name, labels, family.type == Type::kHistogram);
  for (auto series = family.series.begin(); series != family.series.end(); ++series) {
    if ((*series)->labels != canonical) continue;
    removed_.push_back(std::move(*series));
    family.series.erase(series);
    return;
  }
}

std::string MetricsRegistry::RenderPrometheusText() const {
  // Copied under the lock and rendered without it, so callbacks may take their own locks
  // (or even register metrics) without deadlocking against the registry.
  struct SeriesView {
    const Series* series;
    std::function<double()> read;
  };
  struct FamilyView {
    std::string name;
    std::string help;
    Type type;
    std::vector<SeriesView> series;
  };
  std::vector<FamilyView> families;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, family] : families_) {
      if (family->series.empty()) continue;  // All removed: no HELP/TYPE without samples.
      FamilyView view{name, family->help, family->type, {}};
      for (const auto& series : family->series) view.series.push_back({series.get(), series->read});
      families.push_back(std::move(view));
    }
  }

  std::string out;
  for (const FamilyView& family : families) {
    out += "# HELP " + family.name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + family.name + " ";
    out += family.type == Type::kCounter ? "counter"
           : family.type == Type::kGauge ? "gauge"
                                         : "histogram";
    out += "\n";
    for (const SeriesView& view : family.series) {
      const Series& series = *view.series;
      switch (family.type) {
        case Type::kCounter:
          out += family.name + LabelText(series.labels) + " " +
                 std::to_string(series.counter->Value()) + "\n";
          break;
        case Type::kGauge: {
          double value = view.read ? view.read() : series.gauge->Value();
          out += family.name + LabelText(series.labels) + " " + FormatValue(value) + "\n";
          break;
        }
        case Type::kHistogram: {
          const Histogram& h = *series.histogram;
          std::vector<uint64_t> counts = h.BucketCounts();
          uint64_t cumulative = 0;
          for (size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
            out += family.name + "_bucket" + LabelText(series.labels, "le=\"" + le + "\"") + " " +
                   std::to_string(cumulative) + "\n";
          }
          out +=
              family.name + "_sum" + LabelText(series.labels) + " " + FormatValue(h.Sum()) + "\n";
          out += family.name + "_count" + LabelText(series.labels) + " " +
                 std::to_string(cumulative) + "\n";
          break;
        }
      }
    }
  }
  return out;
}

void RegisterBuildInfo(MetricsRegistry& registry, std::string_view component) {
  registry
      .RegisterGauge("anteroom_build_info", "Build information; the value is always 1.",
                     {{"component", std::string(component)}, {"version", ANTEROOM_VERSION}})
      ->Set(1);
}

}  // namespace anteroom::common
