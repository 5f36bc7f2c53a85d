#pragma once

// Latency samples of one benchmark run and their percentiles. Keeps every sample (a 10 s run
// at 20k calls/s is 200k samples, 1.6 MB), so percentiles are exact rather than bucketed.
//
// Not thread-safe: each worker records into its own recorder; Merge() them afterwards.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace anteroom::bench {

class LatencyRecorder {
 public:
  void Record(int64_t nanos) { samples_.push_back(nanos); }
  void Merge(const LatencyRecorder& other);

  size_t count() const { return samples_.size(); }

  // The q-quantile (0 <= q <= 1) in milliseconds, by the nearest-rank method; 0 when empty.
  // Sorts the samples on first use after a Record/Merge.
  double QuantileMs(double q);
  double MaxMs() { return QuantileMs(1.0); }
  double MeanMs() const;

 private:
  std::vector<int64_t> samples_;
  bool sorted_ = false;
};

}  // namespace anteroom::bench
