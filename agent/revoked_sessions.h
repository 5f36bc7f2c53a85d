#pragma once

// RevokedSessions: the sessions of one room that must not be let in again (the origin revoked
// them), each until the time no copy of its cookie can still be valid. Filled by this agent's
// own revocations and by those every other agent reported, which the coordinator hands out;
// bounded by the revocations of one session duration.
//
// Thread-safe. Contains() is read on every admitted request: when nothing is revoked it reads
// one atomic; otherwise it loads two immutable sets (no mutex, no allocation). A revocation
// made here copies only the small set of those since the last Sync reply; Merge, on the Sync
// thread, folds them into the whole set.

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "absl/synchronization/mutex.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

class RevokedSessions {
 public:
  RevokedSessions();

  // Whether the session of `visitor` (16 bytes; anything else is never revoked) is revoked at
  // `now_ms`.
  bool Contains(std::string_view visitor, int64_t now_ms) const;
  // Revokes `visitor` until `until_ms` (the later of this and any earlier revocation).
  void Add(std::string_view visitor, int64_t until_ms);
  // Adds the revocations of a Sync reply, folds in those made here since the last call, and
  // forgets those past their time at `now_ms`.
  void Merge(const google::protobuf::RepeatedPtrField<v1::RevokedSession>& revoked, int64_t now_ms);
  size_t size() const;

 private:
  using Key = std::array<uint8_t, 16>;
  struct KeyHash {
    size_t operator()(const Key& k) const {
      uint64_t h;  // Visitor ids are random: their first bytes are a hash already.
      std::memcpy(&h, k.data(), sizeof(h));
      return static_cast<size_t>(h);
    }
  };
  using Set = std::unordered_map<Key, int64_t, KeyHash>;  // Visitor -> until_ms.
  static bool ToKey(std::string_view visitor, Key* key);
  static void Put(Set& set, const Key& key, int64_t until_ms);

  std::atomic<bool> any_{false};
  std::atomic<std::shared_ptr<const Set>> all_;     // As of the last Merge.
  std::atomic<std::shared_ptr<const Set>> recent_;  // Added here since the last Merge.
  absl::Mutex write_mu_;                            // Serializes the writers.
};

}  // namespace anteroom::agent
