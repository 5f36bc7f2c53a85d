#pragma once

// FailoverTable: the origin pools an agent routes to, compiled once per configuration change
// and then immutable; the Sync client publishes it inside the AgentSnapshot, so request
// threads read it without locks. The health and load of each origin are atomics inside its
// OriginState, which carries over from one table to the next (same pool id and address), so
// a configuration change keeps what the prober and live traffic learned.
//
// Thread-safe once built (const).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/failover/origin_state.h"
#include "anteroom/v1/pool.pb.h"

namespace anteroom::agent {

struct PoolEntry {
  v1::Pool config;  // As delivered, defaults not applied.
  v1::SteeringPolicy steering = v1::STEERING_POLICY_FAILOVER;
  int minimum_healthy = 1;
  std::vector<std::shared_ptr<OriginState>> origins;  // In configured order.

  // At least minimum_healthy enabled origins are up.
  bool Up() const;
};

// Where one room's (or the agent's default) traffic goes: pools in priority order, then the
// fallback. Points into the FailoverTable it came from.
struct PoolOrder {
  std::vector<const PoolEntry*> pools;
  const PoolEntry* fallback = nullptr;
  bool empty() const { return pools.empty() && fallback == nullptr; }
};

class FailoverTable {
 public:
  // Builds a table of `pools` (validated ones; later duplicates of an id are ignored). Origin
  // states of `previous` with the same pool id and key are reused.
  static std::shared_ptr<const FailoverTable> Build(const std::vector<v1::Pool>& pools,
                                                    const FailoverTable* previous);

  // Null when there is no such pool.
  const PoolEntry* Find(std::string_view pool_id) const;

  // The order for `pool_ids` then `fallback_id`; unknown ids are skipped (and named in
  // `missing` when given).
  PoolOrder Order(const std::vector<std::string>& pool_ids, std::string_view fallback_id,
                  std::vector<std::string>* missing = nullptr) const;

  const std::vector<std::unique_ptr<PoolEntry>>& pools() const { return pools_; }

 private:
  std::vector<std::unique_ptr<PoolEntry>> pools_;
};

}  // namespace anteroom::agent
