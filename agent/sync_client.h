#pragma once

// SyncClient: the agent's side of the Sync protocol. One thread per coordinator shard sends,
// every tick (and early when a room has eligible users but no budget left), one batched Sync
// carrying what the agent counted for the rooms that shard owns, and applies the reply:
// coordinator time, room settings and pools, signing keys, room views and new budget. It then
// publishes a new AgentSnapshot.
//
// Exactly once: a Sync that failed is resent unchanged, with the same seq, until it is answered;
// new counts wait for the next one. While a shard cannot be reached its rooms run on their fail
// mode, and the first answered Sync catches up everything counted meanwhile.
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_snapshot.h"
#include "agent/failover/failover_table.h"
#include "anteroom/v1/sync.grpc.pb.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace anteroom::agent {

struct SyncClientOptions {
  std::vector<std::string> coordinators;  // gRPC addresses, by shard ordinal.
  std::string agent_id;
  // Sent with every Sync as "authorization: Bearer <token>" when not empty.
  std::string sync_token;
  int64_t sync_interval_ms = 500;
  Upstream default_upstream;
  // Keys from a file (a sidecar without a coordinator, or a Kubernetes Secret); merged with
  // the coordinators' keys.
  std::vector<v1::SigningKey> static_keys;
  // Pools from the config file (a sidecar without a coordinator); the coordinators' pools of
  // the same id take precedence.
  std::vector<v1::Pool> static_pools;
  // Where requests outside any room (or in a room without pools) go: these pools in order,
  // then the fallback. None: `default_upstream`.
  std::vector<std::string> default_pools;
  std::string default_fallback_pool;
};

class SyncClient {
 public:
  SyncClient(SyncClientOptions options, AgentState& state, const common::Clock& clock,
             common::MetricsRegistry& metrics);
  ~SyncClient();  // Stop with no grace.

  void Start();
  // Sends a final Sync to every shard (returning unspent budget), bounded by `grace`, and stops.
  void Stop(std::chrono::milliseconds grace);

  // Whether every shard answered within the last three ticks, and keys are loaded.
  bool Ready(std::string* why) const;

 private:
  struct Shard;
  struct RoomEntry {
    std::shared_ptr<const RoomRuntime> runtime;
    std::shared_ptr<const v1::RoomView> view;
  };

  void Run(Shard& shard);
  // Sends the pending request (or a new one) and waits for the answer until the usual Sync
  // deadline or `not_after`, whichever comes first.
  bool SendOnce(Shard& shard, bool final,
                std::chrono::steady_clock::time_point not_after =
                    std::chrono::steady_clock::time_point::max());
  v1::SyncRequest BuildRequest(Shard& shard, bool final);
  void ApplyReply(Shard& shard, const v1::SyncResponse& reply, int64_t sent_local_ms,
                  int64_t received_local_ms);
  void Publish();                                                         // REQUIRES: mu_ held.
  void RebuildFailover();                                                 // REQUIRES: mu_ held.
  std::shared_ptr<RoomCounters> CountersFor(const std::string& room_id);  // REQUIRES: mu_ held.

  SyncClientOptions options_;
  const std::string authorization_;  // "Bearer <token>", or empty.
  AgentState& state_;
  const common::Clock& clock_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::map<std::string, RoomEntry> rooms_;  // By room id, from every shard.
  std::map<std::string, std::shared_ptr<RoomCounters>> counters_;
  std::map<std::string, v1::SigningKey> keys_;
  std::shared_ptr<const FailoverTable> failover_;
  int64_t clock_offset_ms_ = 0;
  bool offset_measured_ = false;  // clock_offset_ms_ holds a measurement (guarded by mu_).
  // Half the round trip the offset was measured over: how far it may be off (guarded by mu_).
  int64_t offset_error_ms_ = 0;

  common::Counter* syncs_ok_;
  common::Counter* syncs_failed_;
  common::Histogram* sync_seconds_;
  common::Gauge* reachable_gauge_;
  common::Gauge* offset_gauge_;
};

}  // namespace anteroom::agent
