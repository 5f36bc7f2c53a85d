#pragma once

// OriginState: what the agent knows of one origin of one pool right now. Its address never
// changes while any failover table refers to it, so the request path, the prober and the Sync
// client share it through plain atomics: the prober and passive checks write `up`, the request
// path reads it and keeps `outstanding` and `ewma_us` current. Relaxed ordering throughout:
// each field is a hint on its own and no field guards another.

#include <atomic>
#include <cstdint>
#include <string>

#include "agent/upstream.h"

namespace anteroom::agent {

// Why the last probe or passive check failed.
enum class OriginFailure : int {
  kNone = 0,
  kConnect,   // Refused, unreachable or name not resolved.
  kTimeout,   // No complete answer within the monitor's timeout.
  kStatus,    // Answered with a status outside expected_codes (see last_status).
  kBody,      // The body lacked expected_body.
  kTls,       // TLS handshake or certificate failure.
  kProtocol,  // Not HTTP, or a malformed answer.
  kPassive,   // Live traffic failed `passive_down_after` times in a row.
};

// "connect", "timeout", "status 503", "body", "tls", "protocol", "passive"; "" for kNone.
std::string OriginFailureText(OriginFailure failure, int status);

struct OriginState {
  OriginState(std::string pool_id, std::string key, Upstream upstream, int weight, bool enabled)
      : pool_id(std::move(pool_id)),
        key(std::move(key)),
        upstream(std::move(upstream)),
        weight(weight),
        enabled(enabled) {}

  // Identity: fixed for the state's lifetime.
  const std::string pool_id;
  const std::string key;  // "address:port", as reported to the coordinator.
  const Upstream upstream;
  const int weight;    // >= 1.
  const bool enabled;  // A disabled origin takes no traffic and is not probed.

  // Health: written by the prober (and by passive checks to mark it down).
  std::atomic<bool> up{true};  // Optimistic until the first probes say otherwise.
  std::atomic<int> last_failure{static_cast<int>(OriginFailure::kNone)};
  std::atomic<int> last_status{0};           // Status of the last HTTP probe, 0 for none.
  std::atomic<int64_t> probe_latency_us{0};  // Of the last successful probe.
  std::atomic<int64_t> probes{0};            // Probes completed, for tests and metrics.
  std::atomic<int64_t> transitions{0};       // Up/down changes, from any cause.

  // Passive checks: consecutive failures of live traffic (connect failures, resets before a
  // response, 5xx). Reaching the agent's threshold sets up = false and passive_down = true; the
  // prober then clears passive_down and requires consecutive_up good probes to bring it back.
  std::atomic<int> passive_failures{0};
  std::atomic<bool> passive_down{false};

  // Load, kept by the request path.
  std::atomic<int> outstanding{0};  // Requests in flight to this origin.
  std::atomic<int64_t> ewma_us{0};  // Response-head latency of live traffic; 0 = unknown.
};

}  // namespace anteroom::agent
