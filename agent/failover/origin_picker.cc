#include "agent/failover/origin_picker.h"

#include <algorithm>
#include <limits>

namespace anteroom::agent {
namespace {

bool Candidate(const OriginState& origin, const UpstreamRoute& route) {
  return origin.enabled && origin.up.load(std::memory_order_relaxed) && !route.Tried(&origin);
}

OriginState* Steer(const PoolEntry& pool, const UpstreamRoute& route, uint64_t random) {
  const auto& origins = pool.origins;
  const size_t n = origins.size();
  if (n == 0) return nullptr;
  switch (pool.steering) {
    case v1::STEERING_POLICY_WEIGHTED_RANDOM: {
      int64_t total = 0;
      for (const auto& o : origins) {
        if (Candidate(*o, route)) total += o->weight;
      }
      if (total == 0) return nullptr;
      int64_t point = static_cast<int64_t>(random % static_cast<uint64_t>(total));
      for (const auto& o : origins) {
        if (!Candidate(*o, route)) continue;
        if (point < o->weight) return o.get();
        point -= o->weight;
      }
      return nullptr;
    }
    case v1::STEERING_POLICY_LEAST_OUTSTANDING:
    case v1::STEERING_POLICY_LOWEST_LATENCY: {
      // Ties go to a random starting point, so equal origins share the load.
      const bool by_latency = pool.steering == v1::STEERING_POLICY_LOWEST_LATENCY;
      OriginState* best = nullptr;
      int64_t best_cost = std::numeric_limits<int64_t>::max();
      const size_t start = static_cast<size_t>(random % n);
      for (size_t i = 0; i < n; ++i) {
        OriginState* o = origins[(start + i) % n].get();
        if (!Candidate(*o, route)) continue;
        const int64_t cost = by_latency ? o->ewma_us.load(std::memory_order_relaxed)
                                        : o->outstanding.load(std::memory_order_relaxed);
        if (cost < best_cost) {
          best = o;
          best_cost = cost;
        }
      }
      return best;
    }
    case v1::STEERING_POLICY_FAILOVER:
    default:
      for (const auto& o : origins) {
        if (Candidate(*o, route)) return o.get();
      }
      return nullptr;
  }
}

}  // namespace

OriginState* PickOrigin(const PoolOrder& order, const UpstreamRoute& route, uint64_t random) {
  for (const PoolEntry* pool : order.pools) {
    if (!pool->Up()) continue;
    if (OriginState* o = Steer(*pool, route, random)) return o;
  }
  if (order.fallback != nullptr) return Steer(*order.fallback, route, random);
  return nullptr;
}

void ObserveLatency(OriginState& origin, int64_t latency_us) {
  // Racing updates may lose one sample; the average does not need every one.
  const int64_t old = origin.ewma_us.load(std::memory_order_relaxed);
  const int64_t next = old == 0 ? std::max<int64_t>(latency_us, 1)
                                : std::max<int64_t>(old + (latency_us - old) / 8, 1);
  origin.ewma_us.store(next, std::memory_order_relaxed);
}

}  // namespace anteroom::agent
