#pragma once

// Where a queued user stands, from the coordinator's view of the room. Pure functions.

#include <cstdint>

#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

// Whether a queued user may spend budget now. FIFO: by the admit-through marker (the boundary
// bucket split by `visitor_fraction`); RANDOM: `epoch_fraction` below the published probability.
bool IsEligible(const v1::RoomView& view, bool random, int64_t bucket, double visitor_fraction,
                double epoch_fraction);

struct QueuePosition {
  int64_t position = 0;  // 1-based.
  int64_t eta_seconds = 0;
  double progress = 0;  // Share of the whole wait already behind the user, 0..1.
};

// REQUIRES: now_s >= arrival bucket is not required (shuffled prequeue buckets may be ahead).
QueuePosition PositionOf(const v1::RoomView& view, int64_t bucket, double visitor_fraction,
                         int64_t now_s);

// How soon the page should ask again: fast when eligible or near the front, so a freed place
// is taken within a tick and a poll; the room's refresh interval otherwise.
int64_t RefreshAfterSeconds(bool eligible, const QueuePosition& position, int64_t refresh_seconds);

}  // namespace anteroom::agent
