#pragma once

// Runs a coordinator shard: opens the store, serves Sync and Admin over gRPC (with the standard
// health service and reflection) and /healthz, /readyz, /metrics over HTTP, until told to stop.

#include <atomic>
#include <memory>

#include "absl/status/status.h"
#include "anteroom/v1/config.pb.h"

namespace anteroom::coordinator {

// Fills unset fields of `config` with their defaults and checks them. InvalidArgument naming
// the flag when a value is bad.
absl::Status ResolveConfig(v1::CoordinatorConfig& config);

// Serves until `stop` becomes true (checked every 100 ms), then drains: readiness fails at once,
// in-flight calls finish (up to 5 s), the commit loop empties, the store closes.
// REQUIRES: ResolveConfig(config) returned OK.
absl::Status RunCoordinator(const v1::CoordinatorConfig& config, const std::atomic<bool>& stop);

}  // namespace anteroom::coordinator
