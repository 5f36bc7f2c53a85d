#pragma once

// The coarse time units the admission protocol counts in (DESIGN: buckets, epochs, slots).

#include <cstdint>

namespace anteroom::common {

// Sessions expire on 10 s slots so the coordinator's histogram stays small.
inline constexpr int64_t kSlotSeconds = 10;

// Floor division that rounds towards negative infinity.
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Arrival bucket: whole seconds.
constexpr int64_t BucketOfMs(int64_t ms) { return FloorDiv(ms, 1000); }

// Presence epoch: refresh intervals since the epoch. REQUIRES: refresh_seconds > 0.
constexpr int64_t EpochOfMs(int64_t ms, int64_t refresh_seconds) {
  return FloorDiv(ms, refresh_seconds * 1000);
}

// Expiry slot for a session ending at `expiry_ms`: seconds rounded up to a slot boundary.
constexpr int64_t SlotCeilMs(int64_t expiry_ms) {
  int64_t seconds = -FloorDiv(-expiry_ms, 1000);
  return -FloorDiv(-seconds, kSlotSeconds) * kSlotSeconds;
}

}  // namespace anteroom::common
