#include "agent/revoked_sessions.h"

#include <algorithm>

namespace anteroom::agent {

RevokedSessions::RevokedSessions()
    : all_(std::make_shared<const Set>()), recent_(std::make_shared<const Set>()) {}

bool RevokedSessions::ToKey(std::string_view visitor, Key* key) {
  if (visitor.size() != key->size()) return false;
  std::memcpy(key->data(), visitor.data(), key->size());
  return true;
}

void RevokedSessions::Put(Set& set, const Key& key, int64_t until_ms) {
  int64_t& until = set[key];
  until = std::max(until, until_ms);
}

bool RevokedSessions::Contains(std::string_view visitor, int64_t now_ms) const {
  if (!any_.load(std::memory_order_acquire)) return false;
  Key key;
  if (!ToKey(visitor, &key)) return false;
  for (const auto* source : {&recent_, &all_}) {
    const std::shared_ptr<const Set> set = source->load(std::memory_order_acquire);
    const auto it = set->find(key);
    if (it != set->end() && it->second >= now_ms) return true;
  }
  return false;
}

void RevokedSessions::Add(std::string_view visitor, int64_t until_ms) {
  Key key;
  if (!ToKey(visitor, &key)) return;
  absl::MutexLock lock(&write_mu_);
  auto next = std::make_shared<Set>(*recent_.load(std::memory_order_acquire));
  Put(*next, key, until_ms);
  recent_.store(std::move(next), std::memory_order_release);
  any_.store(true, std::memory_order_release);
}

void RevokedSessions::Merge(const google::protobuf::RepeatedPtrField<v1::RevokedSession>& revoked,
                            int64_t now_ms) {
  absl::MutexLock lock(&write_mu_);
  const std::shared_ptr<const Set> all = all_.load(std::memory_order_acquire);
  const std::shared_ptr<const Set> recent = recent_.load(std::memory_order_acquire);
  bool stale = false;
  for (const auto& [visitor, until] : *all) stale = stale || until < now_ms;
  if (revoked.empty() && recent->empty() && !stale) return;
  auto next = std::make_shared<Set>();
  for (const auto* set : {all.get(), recent.get()}) {
    for (const auto& [visitor, until] : *set) {
      if (until >= now_ms) Put(*next, visitor, until);
    }
  }
  for (const v1::RevokedSession& r : revoked) {
    Key key;
    if (r.until_ms() >= now_ms && ToKey(r.visitor_id(), &key)) Put(*next, key, r.until_ms());
  }
  const bool any = !next->empty();
  all_.store(std::move(next), std::memory_order_release);
  recent_.store(std::make_shared<const Set>(), std::memory_order_release);
  any_.store(any, std::memory_order_release);
}

size_t RevokedSessions::size() const {
  return all_.load(std::memory_order_acquire)->size() +
         recent_.load(std::memory_order_acquire)->size();
}

}  // namespace anteroom::agent
