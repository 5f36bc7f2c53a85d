#pragma once

// RoomEngine: the admission logic of one waiting room (DESIGN.md section 4). Pure logic: no I/O,
// no clock of its own (every call takes the coordinator time), no locking.
//
// Invariants it keeps for the operator:
//   I1  sessions not expired (held a lease and its grace past their slot, for renewals still
//       on their way) + budget granted and not settled <= total_active_users.
//   I2  budget granted in any window of 60 s + one lease <= new_users_per_minute, so admissions
//       in any 60 s window (spent from that budget) stay within the limit.
//   I3  under FIFO, users become eligible strictly by arrival bucket (the marker only advances),
//       and scarce budget goes to the oldest eligible users across agents, including, for a
//       short claim window, users the marker just passed whose agents have not asked yet.
//   I5  the marker advances as soon as capacity frees, and budget goes to agents that report
//       eligible users, so the oldest waiting user gets in within a tick plus a page poll.
//
// Thread-compatible: one owner (the coordinator's commit thread) calls it at a time.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "anteroom/v1/admin.pb.h"
#include "anteroom/v1/room.pb.h"
#include "anteroom/v1/sync.pb.h"
#include "coordinator/room_phase.h"
#include "coordinator/room_state.h"

namespace anteroom::coordinator {

struct EngineOptions {
  int64_t lease_ms = 1000;              // How long granted budget may be spent (2 ticks).
  int64_t lease_grace_ms = 500;         // Settlement may arrive this late before presuming spent.
  int64_t recompute_interval_ms = 100;  // Marker and ETA are recomputed at most this often.
  int64_t idle_agent_ms = 3600 * 1000;  // Forget an agent silent this long.
  int max_eta_entries = 256;
  // Agents report a second's arrivals up to one sync interval after it ends; the marker moves
  // into a bucket only once its count is settled, or it would promise seats to users not yet
  // counted.
  int64_t count_settle_ms = 750;
  // Whether an idle agent keeps one seat of budget (see Apply).
  bool idle_prefetch = true;
};

class RoomEngine {
 public:
  RoomEngine(v1::Room config, RoomState state, EngineOptions options);

  const v1::Room& config() const { return config_; }
  const RoomState& state() const { return state_; }
  // Replaces the settings, keeping the queue, sessions and leases.
  void SetConfig(v1::Room config);

  // Applies what `agent_id` counted since its last Sync, settles its previous lease, grants new
  // budget (none when `final`), and fills `view` for that agent.
  // REQUIRES: ValidateRoomReport accepted `report`.
  void Apply(const std::string& agent_id, const v1::RoomReport& report, bool final, int64_t now_ms,
             v1::RoomView* view);

  // Expires unsettled leases, forgets old buckets and slots and recomputes the marker and ETAs
  // when they are older than recompute_interval_ms. Apply and Status call it.
  void Maintain(int64_t now_ms);

  // The room's figures as of `now_ms`, with everything applied so far counted (it recomputes
  // whatever the last Maintain left older).
  v1::RoomStatus Status(int64_t now_ms);

  // Fills `view` for `agent_id` from the current state without applying anything: the answer
  // to a retried Sync whose effects are already applied (the lease still holds its grant).
  void ViewFor(const std::string& agent_id, int64_t now_ms, v1::RoomView* view);

  RoomChanges TakeChanges();

  // Aggregates, as of the last Maintain.
  int64_t Active() const;  // Sessions not expired, or ended less than a hold ago.
  int64_t Outstanding() const { return outstanding_; }  // Budget granted, not settled.
  int64_t Waiting() const { return waiting_total_; }
  int64_t GrantedInRateWindow() const { return rate_sum_; }
  // Waiting users the marker has made eligible (an estimate from the counts).
  int64_t EligiblePending() const;
  int64_t RateWindowSeconds() const;
  EffectiveLimits Limits() const { return limits_; }

 private:
  struct WaitingBucket {
    int64_t bucket;
    int64_t waiting;   // Still waiting.
    int64_t admitted;  // Admitted from this bucket so far.

    // Users of the bucket a marker fraction makes eligible and who still wait.
    double Pending(double fraction) const {
      const double eligible = fraction * static_cast<double>(waiting + admitted);
      return std::clamp(eligible - static_cast<double>(admitted), 0.0,
                        static_cast<double>(waiting));
    }
  };

  void RebuildTotals();
  void CompactSessions(int64_t now_ms);
  void CompactRateWindow(int64_t now_s);
  void ExpireLeases(int64_t now_ms);
  void Recompute(int64_t now_ms);
  void AdvanceMarker(int64_t now_ms, int64_t headroom);
  void BuildEta(int64_t now_ms, int64_t avail);
  double EtaSeconds(int64_t position, int64_t avail, int64_t now_ms) const;
  // When the seats of sessions ending at `slot` are free: a lease and its grace after the
  // slot, or after this engine started if that is later.
  int64_t SeatsFreeAtMs(int64_t slot) const;
  double ObservedOutflowPerSecond(int64_t now_s) const;
  // Users who left the line (let in, or gone) per second while users waited, over the last
  // minute; 0 until enough of it was seen (not persisted: a restarted coordinator relearns it).
  double DrainPerSecond() const;
  int64_t Available() const;
  int64_t Grant(const std::string& agent_id, const Lease& lease, int64_t now_ms) const;
  // Smooths the agent's newcomers per second into lease.arrival_rate (before last_sync_ms moves).
  static void UpdateArrivalRate(Lease& lease, int64_t direct_arrivals, int64_t now_ms);
  // Budget to hold ahead for the agent's arrival rate, out of `seats_free` seats.
  int64_t RatePrefetch(const Lease& lease, int64_t seats_free) const;
  // Whether the agent synced within three leases: only such agents' demand and rate count.
  bool HeardFromLately(const Lease& lease, int64_t now_ms) const {
    return lease.last_sync_ms >= now_ms - 3 * options_.lease_ms;
  }
  static constexpr double kArrivalRateWindowMs = 5000.0;
  // Grant when more is wanted than is free and the agent said by bucket what it wants.
  // `unclaimed` is Unclaimed()'s list: those users rank as if another agent had asked.
  int64_t OrderedGrant(const std::string& agent_id, const Lease& lease, int64_t avail,
                       const std::vector<std::pair<int64_t, int64_t>>& unclaimed,
                       int64_t now_ms) const;
  // How long after the marker passes a user his agent may take to ask budget for him. Users
  // near the front poll about every second (the agent shortens their refresh as their wait
  // nears its end), and the agent reports them within two leases. Slower pollers (a sudden
  // release of many seats) rarely need it: with many seats free, nobody waits for one.
  int64_t ClaimWindowMs() const { return 1000 + 2 * options_.lease_ms; }
  // When the agent holding `lease` must stop spending it, in coordinator time.
  int64_t SpendUntilMs(const Lease& lease) const;
  struct Advance;
  bool InClaimWindow(const Advance& a, int64_t now_ms) const;
  // Eligible users no agent has asked budget for yet, as (bucket, count), oldest first: those
  // the marker reached within the claim window who were seen this epoch and still wait, less
  // what agents asked for in their buckets, and less what agents hold beyond that or asked for
  // without saying by bucket (it may be for them). Best effort: just after an epoch begins,
  // few users have been seen in it, and a restarted coordinator holds nothing (not persisted).
  std::vector<std::pair<int64_t, int64_t>> Unclaimed(int64_t now_ms) const;
  void AddSessions(int64_t slot, int64_t delta);
  // Ends the session of `visitor` (expiring at `slot`) unless it was revoked already: its seat
  // is freed once however many agents report it, and agents learn to refuse its cookie.
  void Revoke(const std::string& visitor, int64_t slot, int64_t now_ms);
  // Forgets revocations no cookie they cover can outlive.
  void ForgetOldRevocations(int64_t now_ms);
  // Fills `view` for the agent holding `lease`, with the revocations after `revocations_known`
  // (none when it is negative).
  void FillView(const Lease& lease, int64_t revocations_known, int64_t now_ms,
                v1::RoomView* view) const;
  void MarkBucket(int64_t bucket) { changes_.buckets.push_back(bucket); }
  void MarkLease(const std::string& agent_id) { changes_.leases.push_back(agent_id); }
  // Seats present eligible users claim beyond the budget out: what agents asked for and do
  // not hold yet, and the users the marker just made eligible.
  int64_t ClaimedSeats() const;
  // Whether newcomers may enter directly: nobody waiting needs a seat before them.
  bool OpenToNewcomers(int64_t avail) const;

  v1::Room config_;
  RoomState state_;
  EngineOptions options_;
  RoomChanges changes_;

  // Derived from state_, kept incrementally.
  int64_t sessions_total_ = 0;              // Sum over state_.sessions.
  int64_t outstanding_ = 0;                 // Sum of lease.granted.
  int64_t rate_sum_ = 0;                    // Sum over grants_by_second in the window.
  std::set<std::string> revoked_visitors_;  // Visitors of state_.revocations.

  // Recomputed by Maintain.
  bool stale_ = true;                     // Recompute on the next Maintain regardless of time.
  bool applied_since_recompute_ = false;  // A report came in after the last recompute.
  int64_t last_recompute_ms_ = 0;
  EffectiveLimits limits_;
  std::vector<WaitingBucket> waiting_;  // Buckets with waiting users, oldest first.
  int64_t waiting_total_ = 0;
  int64_t total_wanted_ = 0;
  double total_arrival_rate_ = 0.0;  // Of agents heard from lately, as of the last ExpireLeases.
  int64_t marker_moved_ms_ = -1;     // When the marker last advanced (not persisted).
  // Users the marker made eligible within the claim window, oldest advance first (not
  // persisted).
  struct Advance {
    int64_t ms;
    int64_t bucket;
    double users;
  };
  std::deque<Advance> advances_;
  int64_t advanced_recently_ = 0;   // Users advances_ made eligible, each rounded up.
  int64_t admitting_since_s_ = -1;  // Since when the room admits; -1 while it does not.
  // End of the agents' first whole epoch after this engine's first recompute (not persisted).
  int64_t settle_until_ms_ = -1;
  int64_t started_ms_ = -1;  // This engine's first Maintain (not persisted).
  // Buckets not heard from since before the start: users waiting and admitted_total then.
  std::map<int64_t, std::pair<int64_t, int64_t>> unheard_;
  std::vector<v1::EtaEntry> eta_;
  double seconds_per_user_ = 0;
  double max_outflow_per_second_ = 0;
  struct DrainSample {
    int64_t ms;
    double users;       // Users who left the line since the previous recompute.
    int64_t queued_ms;  // Time since the previous recompute, users waiting.
  };
  std::deque<DrainSample> drain_;
  int64_t last_waiting_ = -1;  // waiting_total_ and total arrivals at the last recompute.
  int64_t last_arrivals_ = 0;
  bool open_to_newcomers_ = true;
  int64_t revocations_pruned_s_ = 0;  // When ForgetOldRevocations last ran.
};

}  // namespace anteroom::coordinator
