#include "common/rendezvous_hash.h"

namespace anteroom::common {
namespace {

// splitmix64 finaliser: spreads FNV's weak low bits.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

uint64_t StableHash64(std::string_view data, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ Mix(seed);
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return Mix(h);
}

int OwnerShard(std::string_view room_id, int shard_count) {
  int best = 0;
  uint64_t best_weight = 0;
  for (int shard = 0; shard < shard_count; ++shard) {
    uint64_t w = StableHash64(room_id, static_cast<uint64_t>(shard) + 1);
    if (shard == 0 || w > best_weight) {
      best = shard;
      best_weight = w;
    }
  }
  return best;
}

}  // namespace anteroom::common
