#include "bench/latency_recorder.h"

#include <algorithm>
#include <cmath>

namespace anteroom::bench {

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sorted_ = false;
}

double LatencyRecorder::QuantileMs(double q) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples_.size())));
  size_t index = rank == 0 ? 0 : rank - 1;
  return static_cast<double>(samples_[index]) / 1e6;
}

double LatencyRecorder::MeanMs() const {
  if (samples_.empty()) return 0;
  long double sum = 0;
  for (int64_t s : samples_) sum += s;
  return static_cast<double>(sum / samples_.size()) / 1e6;
}

}  // namespace anteroom::bench
