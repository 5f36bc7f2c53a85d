#pragma once

// AgentSnapshot: everything the request path reads, immutable once published. The Sync client
// builds a new one when configuration, keys or room views change and swaps it in atomically;
// request threads load it without locks (Envoy's shared_ptr<const Config> pattern).

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "agent/bypass.h"
#include "agent/decision.h"
#include "agent/failover/failover_table.h"
#include "agent/keyring.h"
#include "agent/room_counters.h"
#include "agent/route_table.h"
#include "agent/waiting_page.h"
#include "anteroom/v1/room.pb.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

// One room's settings, compiled once per configuration change.
struct RoomRuntime {
  v1::Room config;
  std::string cookie_name;
  BypassRules bypass;
  WaitingPages pages;
  bool random = false;
  int shard = 0;
  // Survives configuration changes: keyed by room id by whoever builds snapshots.
  std::shared_ptr<RoomCounters> counters;
};

struct AgentSnapshot {
  std::vector<std::shared_ptr<const RoomRuntime>> rooms;
  // Same index as `rooms`; null until the coordinator has sent a view of that room.
  std::vector<std::shared_ptr<const v1::RoomView>> views;
  std::shared_ptr<const RouteTable> routes;
  // Null until keys arrive (from the coordinator or a keys file): tokens cannot be made.
  std::shared_ptr<const Keyring> keyring;
  // Coordinator time = local time + offset.
  int64_t clock_offset_ms = 0;
  // Per coordinator shard: false while it cannot be reached, and its rooms' fail modes apply.
  std::vector<bool> shard_reachable;
  bool ShardReachable(int shard) const {
    return shard >= 0 && shard < static_cast<int>(shard_reachable.size()) && shard_reachable[shard];
  }
  Upstream default_upstream;
  // Origin pools. `room_pools` has the same index as `rooms` (empty: the room names no pool
  // and uses `default_pools`; both empty: `default_upstream`).
  std::shared_ptr<const FailoverTable> failover;
  PoolOrder default_pools;
  std::vector<PoolOrder> room_pools;
};

// Holds the current snapshot. Thread-safe.
class AgentState {
 public:
  AgentState() : current_(std::make_shared<const AgentSnapshot>()) {}
  std::shared_ptr<const AgentSnapshot> Load() const {
    return current_.load(std::memory_order_acquire);
  }
  void Store(std::shared_ptr<const AgentSnapshot> snapshot) {
    current_.store(std::move(snapshot), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const AgentSnapshot>> current_;
};

}  // namespace anteroom::agent
