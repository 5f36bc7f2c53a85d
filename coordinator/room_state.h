#pragma once

// The admission state of one room, as plain data. RoomEngine owns and mutates it; the storage
// layer persists it (state_codec.h). Times are coordinator milliseconds unless named otherwise.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace anteroom::coordinator {

// Waiting users who arrived in one second. Only the two most recent presence epochs matter:
// a user who has not refreshed for two epochs has left.
struct BucketState {
  int64_t arrivals = 0;
  // epoch[1] is the newest epoch seen, epoch[0] the one before it (or older).
  int64_t epoch[2] = {-1, -1};
  int64_t present[2] = {0, 0};
  int64_t admitted[2] = {0, 0};
  // Everyone ever admitted from this bucket: with the marker's fraction it tells how many of
  // the bucket's users are eligible and still waiting.
  int64_t admitted_total = 0;

  bool operator==(const BucketState&) const = default;
};

// Budget handed to one agent and not yet settled.
struct Lease {
  int64_t granted = 0;       // Outstanding: counted as active until settled or expired.
  int64_t expiry_ms = 0;     // The agent may spend until then.
  int64_t grant_second = 0;  // When it was granted, for the rate window.
  int64_t wanted = 0;        // Last budget_wanted reported.
  // The same by arrival bucket, oldest first: (bucket, count).
  std::vector<std::pair<int64_t, int64_t>> wanted_buckets;
  int64_t last_sync_ms = 0;
  // The agent's newcomers per second (direct_arrivals), smoothed: sizes its prefetch.
  double arrival_rate = 0.0;
  // An expired, unsettled lease is presumed spent: that many sessions were added at this slot.
  int64_t presumed_count = 0;
  int64_t presumed_slot = 0;

  bool operator==(const Lease&) const = default;
};

// The FIFO admit-through marker and the RANDOM probability.
struct MarkerState {
  int64_t bucket = 0;     // Users in older buckets are eligible.
  double fraction = 0.0;  // Share of `bucket` itself that is eligible (by visitor hash).
  double probability = 0.0;

  bool operator==(const MarkerState&) const = default;
};

// Room-wide scalars and small maps, persisted as one record.
struct RoomCore {
  MarkerState marker;
  std::map<int64_t, int64_t> grants_by_second;   // Net budget granted, for the rate limit (I2).
  std::map<int64_t, int64_t> admissions_by_10s;  // Admissions per 10 s window, for the ETA.
  std::map<int64_t, int64_t> queued_by_10s;      // 1 for each 10 s window that had a queue.
  int64_t total_admissions = 0;
  int64_t total_arrivals = 0;
  int64_t invalid_tokens = 0;
  int64_t revocation_seq = 0;  // The last revocation's sequence number.

  bool operator==(const RoomCore&) const = default;
};

// A session the origin revoked: agents refuse its cookie until `until_ms`.
struct Revocation {
  std::string visitor;  // 16 bytes.
  int64_t slot = 0;     // Its expiry slot when revoked.
  int64_t until_ms = 0;

  bool operator==(const Revocation&) const = default;
};

struct RoomState {
  RoomCore core;
  std::map<int64_t, BucketState> buckets;     // By arrival second.
  std::map<int64_t, int64_t> sessions;        // Net sessions by expiry slot (Unix seconds).
  std::map<std::string, Lease> leases;        // By agent id; persisted one record each.
  std::map<int64_t, Revocation> revocations;  // By sequence number.

  bool operator==(const RoomState&) const = default;
};

// Keys of a RoomState that changed, so storage writes only those. A listed bucket or slot that
// is absent from the state was erased.
struct RoomChanges {
  bool core = false;
  std::vector<int64_t> buckets;      // Sorted, unique.
  std::vector<int64_t> slots;        // Sorted, unique.
  std::vector<std::string> leases;   // Agent ids; sorted, unique.
  std::vector<int64_t> revocations;  // Sequence numbers; sorted, unique.

  bool empty() const {
    return !core && buckets.empty() && slots.empty() && leases.empty() && revocations.empty();
  }
};

}  // namespace anteroom::coordinator
