#pragma once

// RoomCounters: what one agent counted for one room since its last Sync, plus the budget it
// may spend. The request path adds to it from every I/O thread; the Sync client drains it.
//
// Thread-safe. Spending budget is lock-free; counting an event takes a short per-room lock
// (admitted users' requests, the common case, count nothing unless their session moves slot).

#include <atomic>
#include <cstdint>
#include <map>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "agent/revoked_sessions.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

class RoomCounters {
 public:
  // Takes one unit of budget if any is left and the lease (coordinator time) has not ended.
  bool TrySpend(int64_t now_ms);
  // The same for a queued user of `bucket`, with older users first: the unit is taken only if
  // more budget is left than there are other eligible users from older buckets seen waiting
  // here (CountEligibleWaiting) in the last kEligibleWindowMs. Forgets `visitor` on success.
  bool TrySpendQueued(uint64_t visitor, int64_t bucket, int64_t now_ms);
  // Replaces the budget with a new grant (from a Sync reply).
  void Grant(int64_t budget, int64_t lease_expiry_ms);
  // Takes back what is left (sent as budget_unspent); spending stops until the next Grant.
  int64_t Surrender();
  int64_t budget() const { return budget_.load(std::memory_order_relaxed); }
  int64_t lease_expiry_ms() const { return lease_expiry_ms_.load(std::memory_order_relaxed); }

  // A newcomer queued (and present). Returns how many newcomers this agent queued in `bucket`
  // so far, this one included: its place among them.
  int64_t CountArrival(int64_t bucket, int64_t epoch);
  void CountPresence(int64_t bucket, int64_t epoch);  // A queued user's first refresh of an epoch.
  void CountAdmission(int64_t bucket, int64_t epoch, int64_t new_slot);  // bucket 0: never queued.
  void CountNewcomer();  // Any user without a valid token.
  // An eligible user (by visitor hash) of `bucket` found no budget left at `now_ms`. Bucket 0:
  // order does not matter (RANDOM), and the report then says nothing by bucket.
  void CountEligibleWaiting(uint64_t visitor, int64_t bucket, int64_t now_ms);
  // Whether eligible users found no budget since the last drain (worth an early Sync).
  bool Starved() const { return starved_.load(std::memory_order_relaxed); }
  void MoveSession(int64_t old_slot, int64_t new_slot);  // Renewal into another slot.
  // The origin revoked the session of `visitor` (16 bytes), expiring at `slot`: refused here
  // from now on until `until_ms`, and reported so the coordinator frees its seat once and
  // tells every other agent. Asks for an early Sync, as a seat is free.
  void Revoke(std::string_view visitor, int64_t slot, int64_t until_ms);
  void CountInvalidToken();
  // A newcomer found no budget while the room is open to newcomers; it is held for the early
  // Sync this asks for. Count each newcomer once.
  void CountNewcomerWaiting();

  // Sessions that must not be let in again.
  const RevokedSessions& revoked() const { return revoked_; }
  // Takes the revocations of a Sync reply: the sessions and the sequence number reached.
  void MergeRevocations(const v1::RoomView& view, int64_t now_ms);

  // Moves everything counted into `report` (room_id is left to the caller) and resets.
  // budget_wanted is the distinct eligible users seen in the last kEligibleWindowMs: they poll
  // every second or two, so each of them is in it however short the tick. wanted_buckets says
  // the same by bucket.
  void Drain(v1::RoomReport* report, int64_t now_ms);
  static constexpr int64_t kEligibleWindowMs = 2500;

  // Fail-open: while the coordinator cannot be reached, lets newcomers in no faster than the
  // rate the coordinator granted recently (at least one a minute).
  bool TryFailOpen(int64_t now_ms);

 private:
  std::atomic<int64_t> budget_{0};
  std::atomic<int64_t> lease_expiry_ms_{0};
  std::atomic<double> granted_per_second_{0};
  std::atomic<int64_t> fail_open_next_ms_{0};
  std::atomic<bool> starved_{false};
  RevokedSessions revoked_;
  std::atomic<int64_t> revocations_known_{0};

  absl::Mutex mu_;
  std::map<int64_t, int64_t> arrivals_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int64_t, int64_t>, int64_t> presence_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int64_t, int64_t>, int64_t> admissions_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, int64_t> deltas_ ABSL_GUARDED_BY(mu_);
  int64_t newcomers_ ABSL_GUARDED_BY(mu_) = 0;
  struct EligibleUser {
    int64_t bucket = 0;
    int64_t last_seen_ms = 0;
  };
  std::map<uint64_t, EligibleUser> eligible_ ABSL_GUARDED_BY(mu_);  // By visitor.
  int64_t invalid_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t newcomers_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  // Newcomers queued per bucket over the last few buckets, kept across drains.
  std::map<int64_t, int64_t> recent_arrivals_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::RevokedSession> revoked_pending_ ABSL_GUARDED_BY(mu_);  // Not yet reported.
};

}  // namespace anteroom::agent
