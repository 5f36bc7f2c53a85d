#pragma once

// RevokedSessions: the sessions of one room that must not be let in again (the origin revoked
// them), each until the time no copy of its cookie can still be valid. Filled by this agent's
// own revocations and by those every other agent reported, which the coordinator hands out;
// bounded by the revocations of one session duration.
//
// Thread-safe. Contains() is read on every admitted request: it takes no lock, and when nothing
// is revoked it reads one atomic. Writers (a revocation, a Sync reply) copy the set.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/synchronization/mutex.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

class RevokedSessions {
 public:
  RevokedSessions();

  // Whether the session of `visitor` (16 bytes) is revoked at `now_ms`.
  bool Contains(std::string_view visitor, int64_t now_ms) const;
  // Revokes `visitor` until `until_ms` (the later of this and any earlier revocation).
  void Add(std::string_view visitor, int64_t until_ms);
  // Adds the revocations of a Sync reply and forgets those past their time at `now_ms`.
  void Merge(const google::protobuf::RepeatedPtrField<v1::RevokedSession>& revoked, int64_t now_ms);
  size_t size() const;

 private:
  using Set = std::unordered_map<std::string, int64_t>;  // Visitor -> until_ms.

  std::atomic<bool> any_{false};
  std::atomic<std::shared_ptr<const Set>> set_;
  absl::Mutex write_mu_;  // Serializes copy-on-write updates.
};

}  // namespace anteroom::agent
