#include "agent/revoked_sessions.h"

namespace anteroom::agent {

RevokedSessions::RevokedSessions() : set_(std::make_shared<const Set>()) {}

bool RevokedSessions::Contains(std::string_view visitor, int64_t now_ms) const {
  if (!any_.load(std::memory_order_acquire)) return false;
  const std::shared_ptr<const Set> set = set_.load(std::memory_order_acquire);
  const auto it = set->find(std::string(visitor));
  return it != set->end() && it->second >= now_ms;
}

void RevokedSessions::Add(std::string_view visitor, int64_t until_ms) {
  absl::MutexLock lock(&write_mu_);
  auto next = std::make_shared<Set>(*set_.load(std::memory_order_acquire));
  int64_t& until = (*next)[std::string(visitor)];
  until = std::max(until, until_ms);
  set_.store(std::move(next), std::memory_order_release);
  any_.store(true, std::memory_order_release);
}

void RevokedSessions::Merge(const google::protobuf::RepeatedPtrField<v1::RevokedSession>& revoked,
                            int64_t now_ms) {
  absl::MutexLock lock(&write_mu_);
  const std::shared_ptr<const Set> current = set_.load(std::memory_order_acquire);
  bool stale = false;
  for (const auto& [visitor, until] : *current) stale = stale || until < now_ms;
  if (revoked.empty() && !stale) return;
  auto next = std::make_shared<Set>();
  for (const auto& [visitor, until] : *current) {
    if (until >= now_ms) next->emplace(visitor, until);
  }
  for (const v1::RevokedSession& r : revoked) {
    if (r.until_ms() < now_ms) continue;
    int64_t& until = (*next)[r.visitor_id()];
    until = std::max(until, r.until_ms());
  }
  const bool any = !next->empty();
  set_.store(std::move(next), std::memory_order_release);
  any_.store(any, std::memory_order_release);
}

size_t RevokedSessions::size() const { return set_.load(std::memory_order_acquire)->size(); }

}  // namespace anteroom::agent
