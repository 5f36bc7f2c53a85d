#pragma once

// Which coordinator shard owns a room: rendezvous (highest random weight) hashing over the
// shard ordinals. Stable: adding a shard moves only the rooms the new shard wins.

#include <cstdint>
#include <string_view>

namespace anteroom::common {

// REQUIRES: shard_count >= 1. Returns an ordinal in [0, shard_count).
int OwnerShard(std::string_view room_id, int shard_count);

// 64-bit FNV-1a followed by a final mix; stable across platforms and releases.
uint64_t StableHash64(std::string_view data, uint64_t seed = 0);

}  // namespace anteroom::common
