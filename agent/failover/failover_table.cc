#include "agent/failover/failover_table.h"

#include <algorithm>

#include "common/host_port.h"

namespace anteroom::agent {

bool PoolEntry::Up() const {
  int up = 0;
  for (const auto& origin : origins) {
    if (origin->enabled && origin->up.load(std::memory_order_relaxed)) ++up;
  }
  return up >= minimum_healthy;
}

namespace {

std::shared_ptr<OriginState> Reuse(const FailoverTable* previous, const std::string& pool_id,
                                   const std::string& key, int weight, bool enabled) {
  if (previous == nullptr) return nullptr;
  const PoolEntry* pool = previous->Find(pool_id);
  if (pool == nullptr) return nullptr;
  for (const auto& origin : pool->origins) {
    if (origin->key == key && origin->weight == weight && origin->enabled == enabled) {
      return origin;
    }
  }
  return nullptr;
}

}  // namespace

std::shared_ptr<const FailoverTable> FailoverTable::Build(const std::vector<v1::Pool>& pools,
                                                          const FailoverTable* previous) {
  auto table = std::make_shared<FailoverTable>();
  for (const v1::Pool& pool : pools) {
    if (table->Find(pool.id()) != nullptr) continue;
    auto entry = std::make_unique<PoolEntry>();
    entry->config = pool;
    entry->steering = pool.steering() == v1::STEERING_POLICY_UNSPECIFIED
                          ? v1::STEERING_POLICY_FAILOVER
                          : pool.steering();
    for (const v1::Origin& origin : pool.origins()) {
      const std::string key = common::JoinHostPort(origin.address(), origin.port());
      const int weight = origin.weight() > 0 ? origin.weight() : 1;
      const bool enabled = !origin.has_enabled() || origin.enabled();
      std::shared_ptr<OriginState> state = Reuse(previous, pool.id(), key, weight, enabled);
      if (state == nullptr) {
        Upstream upstream{std::string(common::StripBrackets(origin.address())),
                          static_cast<uint16_t>(origin.port())};
        state = std::make_shared<OriginState>(pool.id(), key, std::move(upstream), weight, enabled);
      }
      entry->origins.push_back(std::move(state));
    }
    const int enabled = static_cast<int>(std::count_if(entry->origins.begin(), entry->origins.end(),
                                                       [](const auto& o) { return o->enabled; }));
    entry->minimum_healthy = std::clamp(pool.minimum_healthy(), 1, std::max(1, enabled));
    table->pools_.push_back(std::move(entry));
  }
  return table;
}

const PoolEntry* FailoverTable::Find(std::string_view pool_id) const {
  for (const auto& pool : pools_) {
    if (pool->config.id() == pool_id) return pool.get();
  }
  return nullptr;
}

PoolOrder FailoverTable::Order(const std::vector<std::string>& pool_ids,
                               std::string_view fallback_id,
                               std::vector<std::string>* missing) const {
  PoolOrder order;
  for (const std::string& id : pool_ids) {
    if (const PoolEntry* pool = Find(id)) {
      order.pools.push_back(pool);
    } else if (missing != nullptr) {
      missing->push_back(id);
    }
  }
  if (!fallback_id.empty()) {
    order.fallback = Find(fallback_id);
    if (order.fallback == nullptr && missing != nullptr) missing->emplace_back(fallback_id);
  }
  return order;
}

}  // namespace anteroom::agent
