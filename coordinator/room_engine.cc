#include "coordinator/room_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "common/room_settings.h"
#include "common/time_slots.h"

namespace anteroom::coordinator {
namespace {

using common::FloorDiv;

constexpr int64_t kOutflowWindowSeconds = 10;
constexpr int64_t kOutflowHistorySeconds = 300;
constexpr int kMinObservedWindows = 3;
// The line's recent pace: over the last minute, once users waited for 15 s of it.
constexpr int64_t kDrainWindowMs = 60'000;
constexpr int64_t kMinDrainMs = 15'000;

int64_t CountAt(const BucketState& b, int64_t epoch, const int64_t (&values)[2]) {
  if (b.epoch[1] == epoch) return values[1];
  if (b.epoch[0] == epoch) return values[0];
  return 0;
}

// Users of a bucket still waiting in epoch `e`: the larger of this epoch's and the previous
// epoch's refreshes, less those admitted since. Users who close the tab drop out within two epochs.
int64_t WaitingIn(const BucketState& b, int64_t e) {
  int64_t admitted_now = CountAt(b, e, b.admitted);
  int64_t now = CountAt(b, e, b.present) - admitted_now;
  int64_t before = CountAt(b, e - 1, b.present) - CountAt(b, e - 1, b.admitted) - admitted_now;
  return std::max<int64_t>(0, std::max(now, before));
}

// Returns the index of `epoch` in the bucket's two-epoch window, shifting it forward when the
// epoch is newer; -1 when the epoch is too old to matter.
int EpochIndex(BucketState& b, int64_t epoch) {
  if (b.epoch[1] == epoch) return 1;
  if (b.epoch[0] == epoch) return 0;
  if (epoch > b.epoch[1]) {
    b.epoch[0] = b.epoch[1];
    b.present[0] = b.present[1];
    b.admitted[0] = b.admitted[1];
    b.epoch[1] = epoch;
    b.present[1] = 0;
    b.admitted[1] = 0;
    return 1;
  }
  if (epoch > b.epoch[0]) {
    b.epoch[0] = epoch;
    b.present[0] = 0;
    b.admitted[0] = 0;
    return 0;
  }
  return -1;
}

void SortUnique(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

}  // namespace

RoomEngine::RoomEngine(v1::Room config, RoomState state, EngineOptions options)
    : config_(std::move(config)), state_(std::move(state)), options_(options) {
  RebuildTotals();
}

void RoomEngine::SetConfig(v1::Room config) {
  config_ = std::move(config);
  stale_ = true;  // Limits may have changed.
}

void RoomEngine::RebuildTotals() {
  sessions_total_ = 0;
  for (const auto& [slot, n] : state_.sessions) sessions_total_ += n;
  outstanding_ = 0;
  for (const auto& [id, lease] : state_.leases) outstanding_ += lease.granted;
  rate_sum_ = 0;
  for (const auto& [s, n] : state_.core.grants_by_second) rate_sum_ += n;
  revoked_visitors_.clear();
  for (const auto& [seq, r] : state_.revocations) revoked_visitors_.insert(r.visitor);
}

void RoomEngine::Revoke(const std::string& visitor, int64_t slot, int64_t now_ms) {
  if (!revoked_visitors_.insert(visitor).second) return;  // Its seat was freed already.
  // A slot whose seats are free already, or that holds no session (a cookie of another
  // store's history), has nothing to give back: subtracting would count seats twice.
  auto it = state_.sessions.find(slot);
  if (SeatsFreeAtMs(slot) > now_ms && it != state_.sessions.end() && it->second > 0) {
    AddSessions(slot, -1);
  }
  const int64_t seq = ++state_.core.revocation_seq;
  changes_.core = true;
  // Another agent may have renewed the cookie before it heard of the revocation: such a copy
  // lives at most a session past the slot.
  const int64_t until_ms =
      (slot + limits_.session_seconds) * 1000 + options_.lease_ms + options_.lease_grace_ms;
  state_.revocations[seq] = Revocation{.visitor = visitor, .slot = slot, .until_ms = until_ms};
  changes_.revocations.push_back(seq);
}

void RoomEngine::ForgetOldRevocations(int64_t now_ms) {
  const int64_t now_s = FloorDiv(now_ms, 1000);
  if (now_s == revocations_pruned_s_) return;  // Once a second is enough.
  revocations_pruned_s_ = now_s;
  for (auto it = state_.revocations.begin(); it != state_.revocations.end();) {
    if (it->second.until_ms >= now_ms) {
      ++it;
      continue;
    }
    revoked_visitors_.erase(it->second.visitor);
    changes_.revocations.push_back(it->first);
    it = state_.revocations.erase(it);
  }
}

int64_t RoomEngine::ClaimedSeats() const {
  // Budget out already covers part of what was asked: it is out of Available() too.
  return std::max<int64_t>(0, total_wanted_ - outstanding_) + advanced_recently_;
}

bool RoomEngine::OpenToNewcomers(int64_t avail) const {
  if (!limits_.admits) return false;
  if (waiting_total_ == 0) return true;
  // Users who waited are all let through already (the marker is past every waiting bucket),
  // and the seats left exceed what the present ones ask for: those still counted as waiting
  // have left (the counts forget them only two refreshes later) and must not hold newcomers
  // back while seats are free.
  const int64_t claims = ClaimedSeats();
  if (common::Method(config_) == v1::QUEUEING_METHOD_RANDOM) {
    return state_.core.marker.probability >= 1.0 && avail > claims;
  }
  const MarkerState& m = state_.core.marker;
  const int64_t newest = waiting_.back().bucket;
  const bool all_eligible = newest < m.bucket || (newest == m.bucket && m.fraction >= 1.0);
  return all_eligible && avail > claims;
}

int64_t RoomEngine::Active() const { return std::max<int64_t>(0, sessions_total_); }

int64_t RoomEngine::RateWindowSeconds() const {
  // Budget granted at t is spent before t + lease (agents are told a little less; see
  // SpendUntilMs), so the admissions of one 60 s window come from grants less than 60 s and a
  // lease apart. Grants are counted by whole second, and two such grants can fall in seconds
  // up to 60 + ceil(lease) apart: the window holds one more.
  return 61 + (options_.lease_ms + 999) / 1000;
}

int64_t RoomEngine::SpendUntilMs(const Lease& lease) const {
  // A twentieth short of the lease, so an agent whose estimate of the coordinator's clock runs
  // a little behind still stops spending within the lease the rate window assumes.
  return lease.expiry_ms - options_.lease_ms / 20;
}

int64_t RoomEngine::Available() const {
  int64_t capacity_free = limits_.total_active_users - Active() - outstanding_;
  int64_t rate_free = limits_.new_users_per_minute - rate_sum_;
  return std::max<int64_t>(0, std::min(capacity_free, rate_free));
}

void RoomEngine::AddSessions(int64_t slot, int64_t delta) {
  if (delta == 0) return;
  int64_t& n = state_.sessions[slot];
  n += delta;
  sessions_total_ += delta;
  if (n == 0) state_.sessions.erase(slot);
  changes_.slots.push_back(slot);
}

void RoomEngine::CompactSessions(int64_t now_ms) {
  // A slot is the second a session ends, but its seats are held a while longer: a user renewed
  // just before the slot is moved to a later one only by the agent's next Sync, and freeing the
  // seat first would let someone else take it beside the renewed session (I1). After a restart
  // the agents' pending Syncs carry such renewals, so the hold also runs from the start.
  if (started_ms_ < 0) started_ms_ = now_ms;
  while (!state_.sessions.empty() && SeatsFreeAtMs(state_.sessions.begin()->first) <= now_ms) {
    auto it = state_.sessions.begin();
    sessions_total_ -= it->second;
    changes_.slots.push_back(it->first);
    state_.sessions.erase(it);
  }
}

int64_t RoomEngine::SeatsFreeAtMs(int64_t slot) const {
  return std::max(slot * 1000, started_ms_) + options_.lease_ms + options_.lease_grace_ms;
}

void RoomEngine::CompactRateWindow(int64_t now_s) {
  auto& grants = state_.core.grants_by_second;
  const int64_t oldest = now_s - RateWindowSeconds();
  while (!grants.empty() && grants.begin()->first <= oldest) {
    rate_sum_ -= grants.begin()->second;
    grants.erase(grants.begin());
    changes_.core = true;
  }
}

void RoomEngine::ExpireLeases(int64_t now_ms) {
  total_wanted_ = 0;
  total_arrival_rate_ = 0.0;
  for (auto it = state_.leases.begin(); it != state_.leases.end();) {
    Lease& lease = it->second;
    if (lease.granted > 0 && lease.expiry_ms + options_.lease_grace_ms < now_ms) {
      // The agent went silent holding budget: it may have admitted up to `granted` users just
      // before the lease ran out. Count them as sessions so I1 holds; a late settlement undoes it.
      const int64_t slot = common::SlotCeilMs(lease.expiry_ms + limits_.session_seconds * 1000);
      AddSessions(slot, lease.granted);
      lease.presumed_count += lease.granted;
      lease.presumed_slot = slot;
      outstanding_ -= lease.granted;
      lease.granted = 0;
      MarkLease(it->first);
    }
    const bool idle = lease.last_sync_ms + options_.idle_agent_ms < now_ms;
    const bool presumption_over = lease.presumed_count == 0 || lease.presumed_slot * 1000 < now_ms;
    if (idle && lease.granted == 0 && presumption_over) {
      MarkLease(it->first);
      it = state_.leases.erase(it);
      continue;
    }
    if (HeardFromLately(lease, now_ms)) {
      total_wanted_ += lease.wanted;
      total_arrival_rate_ += lease.arrival_rate;
    }
    ++it;
  }
}

void RoomEngine::Maintain(int64_t now_ms) {
  const int64_t now_s = FloorDiv(now_ms, 1000);
  CompactSessions(now_ms);
  CompactRateWindow(now_s);
  if (stale_ || now_ms - last_recompute_ms_ >= options_.recompute_interval_ms ||
      now_ms < last_recompute_ms_) {
    Recompute(now_ms);
  }
}

int64_t RoomEngine::EligiblePending() const {
  const MarkerState& m = state_.core.marker;
  double pending = 0;
  for (const WaitingBucket& wb : waiting_) {
    if (wb.bucket < m.bucket) {
      pending += static_cast<double>(wb.waiting);
    } else if (wb.bucket == m.bucket) {
      pending += wb.Pending(m.fraction);
    } else {
      break;
    }
  }
  return static_cast<int64_t>(std::ceil(pending));
}

// Covers only users the coordinator has counted: an agent admits a newcomer directly when
// nobody waits, so moving the marker past counted users would promise seats to strangers.
void RoomEngine::AdvanceMarker(int64_t now_ms, int64_t headroom) {
  if (headroom <= 0) return;
  const int64_t settled_before = FloorDiv(now_ms - options_.count_settle_ms, 1000);
  MarkerState& m = state_.core.marker;
  const MarkerState before = m;
  double left = static_cast<double>(headroom);
  for (const WaitingBucket& wb : waiting_) {
    if (left <= 0 || wb.bucket >= settled_before) break;
    if (wb.bucket < m.bucket || (wb.bucket == m.bucket && m.fraction >= 1.0)) continue;
    const double fraction = wb.bucket == m.bucket ? m.fraction : 0.0;
    // Users of this bucket not yet eligible: all who still wait but the eligible ones.
    const double uncovered = static_cast<double>(wb.waiting) - wb.Pending(fraction);
    if (uncovered <= left) {
      if (uncovered > 0) advances_.push_back({now_ms, wb.bucket, uncovered});
      left -= uncovered;
      m.bucket = wb.bucket;
      m.fraction = 1.0;
      continue;
    }
    advances_.push_back({now_ms, wb.bucket, left});
    // Part of the bucket: the fraction of all its users (admitted ones included) that makes
    // `left` more of the waiting ones eligible.
    const double total = static_cast<double>(wb.waiting + wb.admitted);
    const double covered = std::max(fraction * total, static_cast<double>(wb.admitted));
    m.bucket = wb.bucket;
    m.fraction = std::min(1.0, (covered + left) / total);
    left = 0;
  }
  if (!(m == before)) changes_.core = true;
}

void RoomEngine::Recompute(int64_t now_ms) {
  stale_ = false;
  applied_since_recompute_ = false;
  const int64_t since_last_ms =
      last_recompute_ms_ > 0 && now_ms > last_recompute_ms_ ? now_ms - last_recompute_ms_ : 0;
  last_recompute_ms_ = now_ms;
  const int64_t now_s = FloorDiv(now_ms, 1000);
  limits_ = LimitsAt(config_, now_ms);
  ExpireLeases(now_ms);

  const int64_t epoch = common::EpochOfMs(now_ms, limits_.refresh_seconds);
  const int64_t stale_before_s = now_s - 2 * limits_.refresh_seconds;
  // Missing presence says a user left only for epochs this process was there to hear it. After
  // a restart, until the agents have reported for a whole epoch, a bucket not heard from since
  // before the start still counts the users it had then (less those admitted since): dropping
  // them, or counting only those who have polled again so far, would hide them, and the
  // marker would move past them to younger users.
  if (settle_until_ms_ < 0) {
    const int64_t r = limits_.refresh_seconds;
    settle_until_ms_ = (common::EpochOfMs(now_ms, r) + 2) * r * 1000;
    for (const auto& [bucket, b] : state_.buckets) {
      if (b.epoch[1] >= 0 && b.epoch[1] < epoch - 1) {
        unheard_[bucket] = {WaitingIn(b, b.epoch[1]), b.admitted_total};
      }
    }
  }
  if (now_ms >= settle_until_ms_) unheard_.clear();
  waiting_.clear();
  waiting_total_ = 0;
  for (auto it = state_.buckets.begin(); it != state_.buckets.end();) {
    const BucketState& b = it->second;
    const auto held = unheard_.find(it->first);
    const bool left = held == unheard_.end() && b.epoch[1] < epoch - 1 &&
                      (b.epoch[1] >= 0 || it->first < stale_before_s);
    if (left) {
      MarkBucket(it->first);
      it = state_.buckets.erase(it);
      continue;
    }
    int64_t w = WaitingIn(b, epoch);
    if (held != unheard_.end()) {
      const auto& [waiting_then, admitted_then] = held->second;
      w = std::max(w, waiting_then - (b.admitted_total - admitted_then));
    }
    if (w > 0) {
      waiting_.push_back({it->first, w, b.admitted_total});
      waiting_total_ += w;
    }
    ++it;
  }

  while (!advances_.empty() && !InClaimWindow(advances_.front(), now_ms)) advances_.pop_front();

  const int64_t avail = Available();
  MarkerState& m = state_.core.marker;
  if (limits_.admits) {
    if (common::Method(config_) == v1::QUEUEING_METHOD_RANDOM) {
      const double p =
          waiting_total_ == 0
              ? 1.0
              : std::min(1.0, static_cast<double>(avail) / static_cast<double>(waiting_total_));
      if (p != m.probability) {
        m.probability = p;
        changes_.core = true;
      }
    } else {
      // The counts lag departures by up to two epochs and the boundary split is statistical,
      // so the estimate can stall the marker with seats free (users who closed the tab hold
      // seats they never claim). Users the front can reach poll before it does (the agent
      // shortens their refresh by position), and an eligible one polls every second and is
      // in his agent's budget_wanted: once the marker has stood still for a claim window,
      // what the agents ask for bounds what is pending, however long the refresh interval.
      int64_t pending = EligiblePending();
      if (marker_moved_ms_ < 0) marker_moved_ms_ = now_ms;
      if (now_ms - marker_moved_ms_ >= ClaimWindowMs()) pending = std::min(pending, total_wanted_);
      const MarkerState before = m;
      AdvanceMarker(now_ms, avail - pending);
      if (!(m == before)) marker_moved_ms_ = now_ms;
    }
  } else if (m.probability != 0.0) {
    m.probability = 0.0;
    changes_.core = true;
  }
  // Only Recompute changes advances_: sum them here rather than in every grant.
  advanced_recently_ = 0;
  for (const Advance& a : advances_) advanced_recently_ += static_cast<int64_t>(std::ceil(a.users));

  // Remember which 10 s windows had a queue while the room admitted all along: only those tell
  // the queue's real outflow. A prequeue, or a room set to queue everyone, has a queue and by
  // design no admissions; the window in which admitting began (or this process started)
  // would count a part-empty window as a whole one.
  if (!limits_.admits) {
    admitting_since_s_ = -1;
  } else if (admitting_since_s_ < 0) {
    admitting_since_s_ = now_s;
  }
  auto& queued = state_.core.queued_by_10s;
  const int64_t window = FloorDiv(now_s, kOutflowWindowSeconds) * kOutflowWindowSeconds;
  if (waiting_total_ > 0 && admitting_since_s_ >= 0 && admitting_since_s_ <= window) {
    if (queued.emplace(window, 1).second) changes_.core = true;
  }
  for (auto* series : {&queued, &state_.core.admissions_by_10s}) {
    while (!series->empty() && series->begin()->first < now_s - kOutflowHistorySeconds) {
      series->erase(series->begin());
      changes_.core = true;
    }
  }

  // How fast the line moved: users who left it (let in, or gone: they held a place ahead of
  // others too) per second of the last minute in which users waited and the room admitted.
  // Those who left are the queued arrivals less the growth of the line.
  if (limits_.admits && waiting_total_ > 0 && since_last_ms > 0 && last_waiting_ >= 0) {
    const double left = static_cast<double>(state_.core.total_arrivals - last_arrivals_) -
                        static_cast<double>(waiting_total_ - last_waiting_);
    drain_.push_back({now_ms, std::max(0.0, left), since_last_ms});
  }
  last_waiting_ = waiting_total_;
  last_arrivals_ = state_.core.total_arrivals;
  while (!drain_.empty() && drain_.front().ms < now_ms - kDrainWindowMs) drain_.pop_front();
  ForgetOldRevocations(now_ms);
  BuildEta(now_ms, avail);
  open_to_newcomers_ = OpenToNewcomers(avail);
}

double RoomEngine::ObservedOutflowPerSecond(int64_t now_s) const {
  const int64_t current = FloorDiv(now_s, kOutflowWindowSeconds) * kOutflowWindowSeconds;
  int64_t admitted = 0;
  int windows = 0;
  for (const auto& [window, flag] : state_.core.queued_by_10s) {
    if (window >= current) continue;  // Incomplete.
    auto it = state_.core.admissions_by_10s.find(window);
    admitted += it == state_.core.admissions_by_10s.end() ? 0 : it->second;
    ++windows;
  }
  if (windows < kMinObservedWindows) return 0;
  return static_cast<double>(admitted) / static_cast<double>(windows * kOutflowWindowSeconds);
}

double RoomEngine::EtaSeconds(int64_t position, int64_t avail, int64_t now_ms) const {
  const int64_t now_s = FloorDiv(now_ms, 1000);
  const int64_t capacity = std::max<int64_t>(1, limits_.total_active_users);
  const int64_t rate = std::max<int64_t>(1, limits_.new_users_per_minute);
  // Seats: free now, then as known sessions' seats free, then the steady turnover of a full
  // room.
  double capacity_wait = 0;
  int64_t need = position - avail;
  if (need > 0) {
    int64_t freed = 0;
    int64_t last_free_ms = now_ms;
    for (const auto& [slot, n] : state_.sessions) {
      freed += n;
      last_free_ms = std::max(last_free_ms, SeatsFreeAtMs(slot));
      if (freed >= need) break;
    }
    capacity_wait = static_cast<double>(last_free_ms - now_ms) / 1000.0;
    if (freed < need) {
      capacity_wait += static_cast<double>(need - freed) *
                       static_cast<double>(limits_.session_seconds) / static_cast<double>(capacity);
    }
  }
  // Tokens: what the rate window still allows, then the steady rate.
  const int64_t rate_free = std::max<int64_t>(0, rate - rate_sum_);
  const double rate_wait =
      position > rate_free ? static_cast<double>(position - rate_free) * 60.0 / rate : 0.0;
  const double model = std::max(capacity_wait, rate_wait);
  // Once the line has moved for a while, how fast it moved says more than the model: users
  // renew, check out early and leave the line, none of which the slots foretell.
  if (const double drain = DrainPerSecond(); drain > 0) {
    return static_cast<double>(position) / drain;
  }
  const double observed = ObservedOutflowPerSecond(now_s);
  if (observed <= 0) return model;
  // Users often leave before their session ends; what the queue really drained corrects that.
  return 0.5 * model + 0.5 * static_cast<double>(position) / observed;
}

double RoomEngine::DrainPerSecond() const {
  double passed = 0;
  int64_t queued_ms = 0;
  for (const DrainSample& d : drain_) {
    passed += d.users;
    queued_ms += d.queued_ms;
  }
  if (queued_ms < kMinDrainMs || passed <= 0) return 0;
  return passed * 1000.0 / static_cast<double>(queued_ms);
}

void RoomEngine::BuildEta(int64_t now_ms, int64_t avail) {
  const int64_t now_s = FloorDiv(now_ms, 1000);
  eta_.clear();
  const size_t n = waiting_.size();
  const size_t group =
      std::max<size_t>(1, (n + options_.max_eta_entries - 1) / options_.max_eta_entries);
  int64_t ahead = 0;
  for (size_t i = 0; i < n; i += group) {
    int64_t w = 0;
    for (size_t j = i; j < std::min(n, i + group); ++j) w += waiting_[j].waiting;
    v1::EtaEntry& e = eta_.emplace_back();
    e.set_first_bucket(waiting_[i].bucket);
    e.set_last_bucket(waiting_[std::min(n, i + group) - 1].bucket);
    e.set_users_ahead(ahead);
    e.set_waiting(w);
    e.set_eta_seconds(static_cast<int64_t>(std::ceil(EtaSeconds(ahead + 1, avail, now_ms))));
    ahead += w;
  }
  const double model_rate =
      std::min(static_cast<double>(limits_.new_users_per_minute) / 60.0,
               static_cast<double>(limits_.total_active_users) /
                   static_cast<double>(std::max<int64_t>(1, limits_.session_seconds)));
  const double observed = ObservedOutflowPerSecond(now_s);
  const double rate = observed > 0 ? 2.0 / (1.0 / model_rate + 1.0 / observed) : model_rate;
  const double drain = DrainPerSecond();
  seconds_per_user_ = drain > 0 ? 1.0 / drain : rate > 0 ? 1.0 / rate : 0.0;
  // The front moves no faster than the rate limit lets it, unless seats free in a burst:
  // what the queue drained lately says how fast that has been.
  max_outflow_per_second_ =
      std::max({static_cast<double>(limits_.new_users_per_minute) / 60.0, rate, observed});
}

void RoomEngine::UpdateArrivalRate(Lease& lease, int64_t direct_arrivals, int64_t now_ms) {
  // An exponentially weighted rate over the reports' own intervals, so that a tick with no
  // newcomer does not zero it and a late report does not inflate it.
  if (lease.last_sync_ms <= 0) {
    lease.arrival_rate = 0.0;  // A new agent: no interval to measure over yet.
    return;
  }
  if (now_ms <= lease.last_sync_ms) return;  // The same instant, or the clock stepped back.
  const double dt_ms = static_cast<double>(now_ms - lease.last_sync_ms);
  const double instant =
      static_cast<double>(std::max<int64_t>(0, direct_arrivals)) * 1000.0 / dt_ms;
  const double alpha = 1.0 - std::exp(-dt_ms / kArrivalRateWindowMs);
  lease.arrival_rate += alpha * (instant - lease.arrival_rate);
  if (!std::isfinite(lease.arrival_rate) || lease.arrival_rate < 0.0) lease.arrival_rate = 0.0;
}

int64_t RoomEngine::RatePrefetch(const Lease& lease, int64_t seats_free) const {
  // Newcomers over one lease, with room for a Poisson burst (mean + 3 standard deviations),
  // so that a newcomer rarely finds the agent out of budget before its next grant. It is held
  // as active (I1), so each agent holds at most its share of the free seats, by arrival rate:
  // what they hold together stays near the free seats (Grant caps it by Available() anyway).
  const double mean = lease.arrival_rate * static_cast<double>(options_.lease_ms) / 1000.0;
  if (!(mean > 0.0) || seats_free <= 0) return 0;  // Also NaN.
  const auto want = static_cast<int64_t>(
      std::min(std::ceil(mean + 3.0 * std::sqrt(mean)), static_cast<double>(seats_free)));
  const double share = lease.arrival_rate / std::max(total_arrival_rate_, lease.arrival_rate);
  const auto cap = static_cast<int64_t>(static_cast<double>(seats_free) * share);
  return std::min(want, cap);
}

bool RoomEngine::InClaimWindow(const Advance& a, int64_t now_ms) const {
  return now_ms >= a.ms && now_ms - a.ms < ClaimWindowMs();
}

std::vector<std::pair<int64_t, int64_t>> RoomEngine::Unclaimed(int64_t now_ms) const {
  std::vector<std::pair<int64_t, int64_t>> unclaimed;
  std::map<int64_t, double> recent;  // Users made eligible within the window, by bucket.
  for (const Advance& a : advances_) {
    if (InClaimWindow(a, now_ms)) recent[a.bucket] += a.users;
  }
  if (recent.empty()) return unclaimed;
  // What agents asked for in those buckets, and what they hold beyond all they asked for.
  // An agent that does not say by bucket may be asking for any of them.
  std::map<int64_t, int64_t> claimed;
  int64_t floating = 0;
  for (const auto& [id, l] : state_.leases) {
    if (!HeardFromLately(l, now_ms)) continue;
    if (l.wanted_buckets.empty()) {
      floating += std::max(l.granted, l.wanted);
      continue;
    }
    int64_t asked = 0;
    for (const auto& [bucket, count] : l.wanted_buckets) {
      asked += count;
      if (recent.contains(bucket)) claimed[bucket] += count;
    }
    floating += std::max<int64_t>(0, l.granted - asked);
  }
  const MarkerState& m = state_.core.marker;
  const int64_t epoch = common::EpochOfMs(now_ms, limits_.refresh_seconds);
  for (const auto& [bucket, users] : recent) {
    const auto wb =
        std::lower_bound(waiting_.begin(), waiting_.end(), bucket,
                         [](const WaitingBucket& w, int64_t b) { return w.bucket < b; });
    const auto bs = state_.buckets.find(bucket);
    if (wb == waiting_.end() || wb->bucket != bucket || bucket > m.bucket ||
        bs == state_.buckets.end()) {
      continue;
    }
    // The bucket's eligible users who still wait and were seen this epoch (one not seen since
    // the last has most likely left), less those agents asked for; at most those made
    // eligible within the window (the others had theirs).
    const double pending =
        bucket < m.bucket ? static_cast<double>(wb->waiting) : wb->Pending(m.fraction);
    const int64_t seen_now = CountAt(bs->second, epoch, bs->second.present) -
                             CountAt(bs->second, epoch, bs->second.admitted);
    const auto it = claimed.find(bucket);
    int64_t left = std::min(static_cast<int64_t>(std::ceil(pending)), seen_now) -
                   (it == claimed.end() ? 0 : it->second);
    left = std::min(left, static_cast<int64_t>(std::ceil(users)));
    const int64_t covered = std::clamp<int64_t>(floating, 0, std::max<int64_t>(0, left));
    floating -= covered;
    left -= covered;
    if (left > 0) unclaimed.emplace_back(bucket, left);
  }
  return unclaimed;
}

int64_t RoomEngine::Grant(const std::string& agent_id, const Lease& lease, int64_t now_ms) const {
  if (!limits_.admits || lease.wanted <= 0) return 0;
  const int64_t avail = Available();
  if (avail <= 0) return 0;
  const int64_t total = std::max(total_wanted_, lease.wanted);
  // Users the marker passed whose agents have not asked for them yet keep their seats for the
  // claim window (I3): otherwise the first agent to sync would spend them on younger users.
  // What the window's advances made eligible bounds what is held: enough seats for that and
  // everything wanted skip the count.
  if (total + advanced_recently_ <= avail) return std::min(lease.wanted, avail);
  const std::vector<std::pair<int64_t, int64_t>> unclaimed = Unclaimed(now_ms);
  int64_t reserved = 0;
  for (const auto& [bucket, count] : unclaimed) reserved += count;
  if (total + reserved <= avail) return std::min(lease.wanted, avail);
  if (!lease.wanted_buckets.empty()) {
    return OrderedGrant(agent_id, lease, avail, unclaimed, now_ms);
  }
  // More is wanted than is free: share what the unclaimed users leave in proportion to what
  // each agent asked for, rounding up so that an agent with one eligible user still makes
  // progress.
  const int64_t free = avail - reserved;
  if (free <= 0) return 0;
  const int64_t share = std::max<int64_t>(1, (free * lease.wanted + total - 1) / total);
  return std::min({lease.wanted, free, share});
}

int64_t RoomEngine::OrderedGrant(const std::string& agent_id, const Lease& lease, int64_t avail,
                                 const std::vector<std::pair<int64_t, int64_t>>& unclaimed,
                                 int64_t now_ms) const {
  // What the other agents still want, by bucket: the budget they hold goes to their oldest
  // users first. An agent that did not say by bucket ranks after everyone who did.
  std::vector<std::pair<int64_t, int64_t>> others(unclaimed);
  for (const auto& [id, l] : state_.leases) {
    if (id == agent_id || !HeardFromLately(l, now_ms) || l.wanted <= 0) continue;
    int64_t held = l.granted;
    if (l.wanted_buckets.empty()) {
      if (l.wanted > held)
        others.emplace_back(std::numeric_limits<int64_t>::max(), l.wanted - held);
      continue;
    }
    for (const auto& [bucket, count] : l.wanted_buckets) {
      const int64_t covered = std::min(held, count);
      held -= covered;
      if (count > covered) others.emplace_back(bucket, count - covered);
    }
  }
  std::sort(others.begin(), others.end());

  // This agent's users, oldest first, get what is left once older users elsewhere are served;
  // a bucket wanted here and elsewhere too is shared in proportion, rounding up.
  int64_t grant = 0;
  int64_t older_elsewhere = 0;
  size_t j = 0;
  for (const auto& [bucket, count] : lease.wanted_buckets) {
    while (j < others.size() && others[j].first < bucket) older_elsewhere += others[j++].second;
    int64_t same_elsewhere = 0;
    for (size_t k = j; k < others.size() && others[k].first == bucket; ++k) {
      same_elsewhere += others[k].second;
    }
    const int64_t left = avail - older_elsewhere - grant;
    if (left <= 0) break;
    if (count + same_elsewhere <= left) {
      grant += count;
      continue;
    }
    const int64_t total = count + same_elsewhere;
    grant += std::min(count, std::max<int64_t>(1, (left * count + total - 1) / total));
    break;
  }
  return std::min(grant, avail);
}

void RoomEngine::Apply(const std::string& agent_id, const v1::RoomReport& report, bool final,
                       int64_t now_ms, v1::RoomView* view) {
  Maintain(now_ms);
  applied_since_recompute_ = true;
  const int64_t now_s = FloorDiv(now_ms, 1000);
  changes_.core = true;
  Lease& lease = state_.leases[agent_id];
  MarkLease(agent_id);

  if (lease.presumed_count != 0) {
    // The agent is alive after all and reports its own sessions below.
    AddSessions(lease.presumed_slot, -lease.presumed_count);
    lease.presumed_count = 0;
  }
  if (lease.granted > 0) {
    const int64_t refund = std::clamp<int64_t>(report.budget_unspent(), 0, lease.granted);
    if (refund > 0 && lease.grant_second > now_s - RateWindowSeconds()) {
      auto it = state_.core.grants_by_second.find(lease.grant_second);
      if (it != state_.core.grants_by_second.end()) {
        const int64_t r = std::min(refund, it->second);
        it->second -= r;
        rate_sum_ -= r;
        if (it->second == 0) state_.core.grants_by_second.erase(it);
      }
    }
    outstanding_ -= lease.granted;
    lease.granted = 0;
  }

  const int64_t epoch = common::EpochOfMs(now_ms, limits_.refresh_seconds);
  for (const v1::BucketCount& a : report.arrivals()) {
    state_.buckets[a.bucket()].arrivals += a.count();
    state_.core.total_arrivals += a.count();
    MarkBucket(a.bucket());
  }
  for (const v1::PresenceCount& p : report.presence()) {
    // Presence from an epoch the coordinator has left behind no longer says who waits.
    if (p.epoch() < epoch - 1 || p.epoch() > epoch + 1) continue;
    BucketState& b = state_.buckets[p.bucket()];
    const int i = EpochIndex(b, p.epoch());
    if (i >= 0) b.present[i] += p.count();
    MarkBucket(p.bucket());
  }
  int64_t spent = 0;
  for (const v1::AdmissionCount& a : report.admissions()) {
    spent += a.count();
    if (a.bucket() <= 0) continue;  // Admitted on arrival: never queued.
    auto it = state_.buckets.find(a.bucket());
    if (it == state_.buckets.end()) continue;
    it->second.admitted_total += a.count();
    const int i = EpochIndex(it->second, a.epoch());
    if (i >= 0) it->second.admitted[i] += a.count();
    MarkBucket(a.bucket());
  }
  if (spent > 0) {
    state_.core.total_admissions += spent;
    state_.core.admissions_by_10s[FloorDiv(now_s, kOutflowWindowSeconds) * kOutflowWindowSeconds] +=
        spent;
  }
  for (const v1::SlotDelta& d : report.session_deltas()) AddSessions(d.slot(), d.delta());
  const int64_t active_before = sessions_total_;
  for (const v1::RevokedSession& r : report.revoked()) Revoke(r.visitor_id(), r.slot(), now_ms);
  state_.core.invalid_tokens += report.invalid_tokens();
  CompactSessions(now_ms);
  const bool seats_freed = sessions_total_ < active_before;

  UpdateArrivalRate(lease, report.direct_arrivals(), now_ms);

  // While nobody waits, newcomers are admitted on arrival: prefetch enough for the agent's
  // arrival rate that no one queues. Once a queue exists, agents spend budget only on users the
  // marker made eligible, so newcomers cannot take the seats it promised; but while the room
  // could seat everyone waiting and more, agents still hold budget for their arrival rate, out
  // of the seats nobody waiting needs, so that a short queue (users who came in a burst the
  // prefetch did not cover) is let in at their next poll instead of a round trip later, and
  // empties, rather than queueing everyone who comes after it.
  int64_t prefetch = 0;
  if (waiting_total_ > 0) {
    // Seats nobody waiting needs: all but the waiting users, or, once everyone who waited is
    // eligible, all but what the present ones claim.
    const int64_t claims = open_to_newcomers_ ? ClaimedSeats() : waiting_total_;
    const int64_t surplus = Available() - claims;
    if (surplus > 0) prefetch = RatePrefetch(lease, surplus);
  } else {
    const int64_t seats_free = limits_.total_active_users - Active();
    prefetch = std::max(2 * report.direct_arrivals(), RatePrefetch(lease, seats_free));
    // An idle agent also keeps one seat, while all budget out stays within half the free
    // seats, so the first visitor after a quiet spell walks straight in too.
    if (options_.idle_prefetch && prefetch == 0 && report.budget_wanted() == 0 && Available() > 0 &&
        2 * (outstanding_ + 1) <= seats_free) {
      prefetch = 1;
    }
  }
  // Newcomers held for budget want it as much as eligible users do.
  lease.wanted = final ? 0 : report.budget_wanted() + report.newcomers_wanting() + prefetch;
  lease.wanted_buckets.clear();
  if (!final) {
    for (const v1::BucketCount& w : report.wanted_buckets()) {
      lease.wanted_buckets.emplace_back(w.bucket(), w.count());
    }
  }
  lease.last_sync_ms = now_ms;
  // A checkout freed seats: move the marker now rather than at the next recompute, so this
  // very reply (and the agent's next user, often this agent's own) sees it a tick sooner.
  // Only once the lease is up to date: the recompute forgets idle leases.
  if (seats_freed && waiting_total_ > 0) Recompute(now_ms);
  if (final) {
    state_.leases.erase(agent_id);
    FillView(Lease{}, report.revocations_known(), now_ms, view);
    return;
  }
  const int64_t granted = Grant(agent_id, lease, now_ms);
  lease.granted = granted;
  lease.expiry_ms = now_ms + options_.lease_ms;
  lease.grant_second = now_s;
  if (granted > 0) {
    state_.core.grants_by_second[now_s] += granted;
    rate_sum_ += granted;
    outstanding_ += granted;
  }
  FillView(lease, report.revocations_known(), now_ms, view);
}

void RoomEngine::FillView(const Lease& lease, int64_t revocations_known, int64_t now_ms,
                          v1::RoomView* view) const {
  view->set_room_id(config_.id());
  view->set_phase(limits_.phase);
  v1::Marker* marker = view->mutable_marker();
  marker->set_admit_through_bucket(state_.core.marker.bucket);
  marker->set_fraction(state_.core.marker.fraction);
  marker->set_probability(state_.core.marker.probability);
  view->mutable_eta()->Assign(eta_.begin(), eta_.end());
  view->set_seconds_per_user(seconds_per_user_);
  view->set_waiting(waiting_total_);
  view->set_active(Active());
  view->set_budget(lease.granted);
  view->set_lease_expiry_ms(lease.granted > 0 ? SpendUntilMs(lease) : now_ms);
  view->set_total_active_users(limits_.total_active_users);
  view->set_new_users_per_minute(limits_.new_users_per_minute);
  view->set_session_duration_seconds(limits_.session_seconds);
  const v1::Event& ev = config_.event();
  if (ev.shuffle_at_event_start() && ev.prequeue_start_unix() > 0) {
    view->set_shuffle_base_bucket(ev.prequeue_start_unix());
    view->set_shuffle_span(ev.start_unix() - ev.prequeue_start_unix());
  }
  view->set_open_to_newcomers(open_to_newcomers_);
  view->set_max_outflow_per_second(max_outflow_per_second_);
  view->clear_revoked();
  view->clear_revocation_seq();
  if (revocations_known >= 0 && state_.core.revocation_seq > 0) {
    // An agent ahead of this store (it was replaced by an empty one) starts over.
    const int64_t after = revocations_known > state_.core.revocation_seq ? 0 : revocations_known;
    // A bounded reply: an agent far behind catches up over a few Syncs.
    constexpr int kMaxPerReply = 4096;
    int n = 0;
    int64_t last = after;
    for (auto it = state_.revocations.upper_bound(after);
         it != state_.revocations.end() && n < kMaxPerReply; ++it, ++n) {
      v1::RevokedSession* r = view->add_revoked();
      r->set_visitor_id(it->second.visitor);
      r->set_slot(it->second.slot);
      r->set_until_ms(it->second.until_ms);
      r->set_seq(it->first);
      last = it->first;
    }
    view->set_revocation_seq(n < kMaxPerReply ? state_.core.revocation_seq : last);
  }
}

void RoomEngine::ViewFor(const std::string& agent_id, int64_t now_ms, v1::RoomView* view) {
  Maintain(now_ms);
  auto it = state_.leases.find(agent_id);
  FillView(it == state_.leases.end() ? Lease{} : it->second, -1, now_ms, view);
}

v1::RoomStatus RoomEngine::Status(int64_t now_ms) {
  // An operator's view includes every Sync applied so far, not the last periodic recompute.
  if (applied_since_recompute_) stale_ = true;
  Maintain(now_ms);
  const int64_t now_s = FloorDiv(now_ms, 1000);
  v1::RoomStatus s;
  s.set_id(config_.id());
  s.set_phase(limits_.phase);
  s.set_waiting(waiting_total_);
  s.set_active(Active());
  s.set_budget_outstanding(outstanding_);
  int64_t last_minute = 0;
  for (const auto& [window, n] : state_.core.admissions_by_10s) {
    if (window > now_s - 60) last_minute += n;
  }
  s.set_admissions_last_minute(last_minute);
  s.set_eta_back_of_queue_seconds(waiting_total_ > 0 ? static_cast<int64_t>(std::ceil(EtaSeconds(
                                                           waiting_total_, Available(), now_ms)))
                                                     : 0);
  s.mutable_marker()->set_admit_through_bucket(state_.core.marker.bucket);
  s.mutable_marker()->set_fraction(state_.core.marker.fraction);
  s.mutable_marker()->set_probability(state_.core.marker.probability);
  s.set_total_active_users(limits_.total_active_users);
  s.set_new_users_per_minute(limits_.new_users_per_minute);
  s.set_oldest_waiting_bucket(waiting_.empty() ? 0 : waiting_.front().bucket);
  for (const auto& [id, lease] : state_.leases) {
    v1::AgentView* a = s.add_agents();
    a->set_agent_id(id);
    a->set_last_sync_ms(lease.last_sync_ms);
    a->set_budget_outstanding(lease.granted);
    a->set_lease_expiry_ms(lease.expiry_ms);
    a->set_budget_wanted(lease.wanted);
  }
  s.set_coordinator_time_ms(now_ms);
  s.set_invalid_tokens(state_.core.invalid_tokens);
  return s;
}

RoomChanges RoomEngine::TakeChanges() {
  RoomChanges out = std::move(changes_);
  changes_ = RoomChanges{};
  SortUnique(out.buckets);
  SortUnique(out.slots);
  SortUnique(out.revocations);
  std::sort(out.leases.begin(), out.leases.end());
  out.leases.erase(std::unique(out.leases.begin(), out.leases.end()), out.leases.end());
  return out;
}

}  // namespace anteroom::coordinator
