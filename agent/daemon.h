#pragma once

// Runs an agent: the waiting-room reverse proxy (or forward-auth endpoint), the Sync client and
// the admin HTTP port, until told to stop; then drains.

#include <atomic>

#include "absl/status/status.h"
#include "anteroom/v1/config.pb.h"

namespace anteroom::agent {

// Fills defaults and checks every field. InvalidArgument naming the flag when one is bad.
absl::Status ResolveAgentConfig(v1::AgentConfig& config);

// Serves until `stop` becomes true, then: /readyz fails at once, requests keep being served for
// drain_delay_seconds, the listener closes, requests in flight get up to drain_seconds, and a
// last Sync returns unspent budget.
// REQUIRES: ResolveAgentConfig(config) returned OK.
absl::Status RunAgent(const v1::AgentConfig& config, const std::atomic<bool>& stop);

}  // namespace anteroom::agent
