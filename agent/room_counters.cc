#include "agent/room_counters.h"

#include <algorithm>

namespace anteroom::agent {

bool RoomCounters::TrySpend(int64_t now_ms) {
  if (now_ms >= lease_expiry_ms_.load(std::memory_order_acquire)) return false;
  int64_t b = budget_.load(std::memory_order_relaxed);
  while (b > 0) {
    if (budget_.compare_exchange_weak(b, b - 1, std::memory_order_acq_rel)) return true;
  }
  return false;
}

bool RoomCounters::TrySpendQueued(uint64_t visitor, int64_t bucket, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  int64_t older = 0;
  for (const auto& [v, user] : eligible_) {
    if (v != visitor && user.bucket < bucket && user.last_seen_ms + kEligibleWindowMs >= now_ms) {
      ++older;
    }
  }
  if (now_ms >= lease_expiry_ms_.load(std::memory_order_acquire)) return false;
  int64_t b = budget_.load(std::memory_order_relaxed);
  while (b > older) {
    if (budget_.compare_exchange_weak(b, b - 1, std::memory_order_acq_rel)) {
      eligible_.erase(visitor);
      return true;
    }
  }
  return false;
}

void RoomCounters::Grant(int64_t budget, int64_t lease_expiry_ms) {
  lease_expiry_ms_.store(lease_expiry_ms, std::memory_order_release);
  budget_.store(budget, std::memory_order_release);
  // A slow moving average of grants, for fail-open when the coordinator is gone.
  const double per_second = static_cast<double>(budget) * 2.0;  // Leases are two ticks.
  granted_per_second_.store(
      0.9 * granted_per_second_.load(std::memory_order_relaxed) + 0.1 * per_second,
      std::memory_order_relaxed);
}

bool RoomCounters::TryFailOpen(int64_t now_ms) {
  const double rate = std::max(granted_per_second_.load(std::memory_order_relaxed), 1.0 / 60.0);
  const int64_t gap_ms = static_cast<int64_t>(1000.0 / rate);
  int64_t next = fail_open_next_ms_.load(std::memory_order_relaxed);
  while (next <= now_ms) {
    if (fail_open_next_ms_.compare_exchange_weak(next, std::max(next, now_ms - 1000) + gap_ms)) {
      return true;
    }
  }
  return false;
}

int64_t RoomCounters::Surrender() { return budget_.exchange(0, std::memory_order_acq_rel); }

int64_t RoomCounters::CountArrival(int64_t bucket, int64_t epoch) {
  absl::MutexLock lock(&mu_);
  ++arrivals_[bucket];
  ++presence_[{bucket, epoch}];
  ++newcomers_;
  // Only the newest buckets matter (a newcomer's first answer); shuffled prequeue buckets
  // are spread wide, so keep a bounded number.
  const int64_t rank = ++recent_arrivals_[bucket];
  while (recent_arrivals_.size() > 64) recent_arrivals_.erase(recent_arrivals_.begin());
  return rank;
}

void RoomCounters::CountPresence(int64_t bucket, int64_t epoch) {
  absl::MutexLock lock(&mu_);
  ++presence_[{bucket, epoch}];
}

void RoomCounters::CountAdmission(int64_t bucket, int64_t epoch, int64_t new_slot) {
  absl::MutexLock lock(&mu_);
  ++admissions_[{bucket, epoch}];
  ++deltas_[new_slot];
}

void RoomCounters::CountNewcomer() {
  absl::MutexLock lock(&mu_);
  ++newcomers_;
}

void RoomCounters::CountEligibleWaiting(uint64_t visitor, int64_t bucket, int64_t now_ms) {
  starved_.store(true, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  eligible_[visitor] = {.bucket = bucket, .last_seen_ms = now_ms};
}

void RoomCounters::MoveSession(int64_t old_slot, int64_t new_slot) {
  absl::MutexLock lock(&mu_);
  --deltas_[old_slot];
  ++deltas_[new_slot];
}

void RoomCounters::Revoke(std::string_view visitor, int64_t slot, int64_t until_ms) {
  revoked_.Add(visitor, until_ms);
  {
    absl::MutexLock lock(&mu_);
    v1::RevokedSession& r = revoked_pending_.emplace_back();
    r.set_visitor_id(std::string(visitor));
    r.set_slot(slot);
  }
  starved_.store(true, std::memory_order_relaxed);
}

void RoomCounters::CountNewcomerWaiting() {
  starved_.store(true, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  ++newcomers_waiting_;
}

void RoomCounters::MergeRevocations(const v1::RoomView& view, int64_t now_ms) {
  revoked_.Merge(view.revoked(), now_ms);
  if (view.revocation_seq() > 0) {
    revocations_known_.store(view.revocation_seq(), std::memory_order_relaxed);
  }
}

void RoomCounters::CountInvalidToken() {
  absl::MutexLock lock(&mu_);
  ++invalid_tokens_;
}

void RoomCounters::Drain(v1::RoomReport* report, int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  for (const auto& [bucket, n] : arrivals_) {
    v1::BucketCount* c = report->add_arrivals();
    c->set_bucket(bucket);
    c->set_count(n);
  }
  for (const auto& [key, n] : presence_) {
    v1::PresenceCount* c = report->add_presence();
    c->set_bucket(key.first);
    c->set_epoch(key.second);
    c->set_count(n);
  }
  for (const auto& [key, n] : admissions_) {
    v1::AdmissionCount* c = report->add_admissions();
    c->set_bucket(key.first);
    c->set_epoch(key.second);
    c->set_count(n);
  }
  for (const auto& [slot, n] : deltas_) {
    if (n == 0) continue;
    v1::SlotDelta* d = report->add_session_deltas();
    d->set_slot(slot);
    d->set_delta(n);
  }
  std::erase_if(eligible_, [&](const auto& kv) {
    return kv.second.last_seen_ms + kEligibleWindowMs < now_ms;
  });
  report->set_budget_wanted(static_cast<int64_t>(eligible_.size()));
  std::map<int64_t, int64_t> wanted;
  for (const auto& [visitor, user] : eligible_) ++wanted[user.bucket];
  if (wanted.count(0)) wanted.clear();
  for (const auto& [bucket, n] : wanted) {
    v1::BucketCount* w = report->add_wanted_buckets();
    w->set_bucket(bucket);
    w->set_count(n);
  }
  report->set_direct_arrivals(newcomers_);
  report->set_invalid_tokens(invalid_tokens_);
  report->set_newcomers_wanting(newcomers_waiting_);
  for (v1::RevokedSession& r : revoked_pending_) *report->add_revoked() = std::move(r);
  report->set_revocations_known(revocations_known_.load(std::memory_order_relaxed));
  revoked_pending_.clear();
  newcomers_waiting_ = 0;
  arrivals_.clear();
  presence_.clear();
  admissions_.clear();
  deltas_.clear();
  starved_.store(false, std::memory_order_relaxed);
  newcomers_ = 0;
  invalid_tokens_ = 0;
}

}  // namespace anteroom::agent
