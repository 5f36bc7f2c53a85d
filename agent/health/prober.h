#pragma once

// Prober: the agent's active health checks. One thread drives every probe through libcurl's
// multi interface, so probes of many origins overlap and none ever runs on a request thread.
// Each enabled origin of each pool in the current FailoverTable is probed per its pool's
// Monitor (HTTP, HTTPS or TCP connect; method, path, Host header, extra headers, expected
// codes and body, timeout, follow_redirects, allow_insecure) every interval_ms plus a random
// jitter (spreading the probes of many agents), and the result goes through a HealthTracker
// (consecutive_up / consecutive_down) into the origin's OriginState. An origin marked down by
// live traffic (OriginState::passive_down) is taken as down at once and needs consecutive_up
// good probes to come back.
//
// The table comes from `source`, polled every few tens of milliseconds, so a new
// configuration takes effect without a call into the prober.
//
// Metrics (labels pool, origin): anteroom_origin_up (gauge), anteroom_origin_probe_seconds
// (histogram of successful probes), anteroom_origin_probe_failures_total (counter, label
// reason), anteroom_origin_transitions_total (counter).
//
// Thread-safe: Start and Stop from one thread.

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "agent/failover/failover_table.h"
#include "common/metrics.h"

namespace anteroom::agent {

class Prober {
 public:
  using TableSource = std::function<std::shared_ptr<const FailoverTable>()>;

  Prober(TableSource source, common::MetricsRegistry& metrics);
  ~Prober();  // Stop().

  void Start();
  // Returns once the thread has stopped (in-flight probes are abandoned).
  void Stop();

 private:
  void Run();

  TableSource source_;
  common::MetricsRegistry& metrics_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace anteroom::agent
