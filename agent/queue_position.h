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

// Where a user of `bucket` stands. `local_ahead`: users of the same bucket this agent queued
// before this one, which the view may not count yet (a newcomer's first answer); 0 otherwise.
// Users behind the front never get an ETA of 0, nor one shorter than the fastest the queue
// can move (RoomView.max_outflow_per_second) allows.
// now_s >= bucket is not required (shuffled prequeue buckets may lie ahead).
QueuePosition PositionOf(const v1::RoomView& view, int64_t bucket, double visitor_fraction,
                         int64_t local_ahead, int64_t now_s);

// How soon the page should ask again: every second when eligible, or when the front could
// reach the user before a slower poll would (seats can free at any moment); sooner as a
// short wait ends; the room's refresh interval otherwise.
int64_t RefreshAfterSeconds(bool eligible, const QueuePosition& position, int64_t refresh_seconds,
                            double max_outflow_per_second);

}  // namespace anteroom::agent
