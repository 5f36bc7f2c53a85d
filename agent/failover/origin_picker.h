#pragma once

// Chooses the origin for a request: the first pool of the order that is up and has an origin
// that is up and not yet tried by this request; inside it, by the pool's steering policy
// (failover by order, weighted random, least outstanding requests, lowest latency EWMA). When
// no pool qualifies, the fallback pool's up and untried origins. Reads only atomics: lock-free,
// allocation-free.

#include <cstdint>

#include "agent/failover/failover_table.h"
#include "agent/failover/upstream_route.h"

namespace anteroom::agent {

// Null when no origin qualifies. `random` is any uniformly random value (it picks among
// weighted or tied candidates).
OriginState* PickOrigin(const PoolOrder& order, const UpstreamRoute& route, uint64_t random);

// Folds one live response time into the origin's EWMA (weight 1/8).
void ObserveLatency(OriginState& origin, int64_t latency_us);

}  // namespace anteroom::agent
