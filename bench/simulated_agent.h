#pragma once

// One simulated agent for the Sync benchmark: it builds the requests a real agent would send
// (arrivals, presence, admissions spent from the budget it was granted, session deltas) and
// takes the replies in, so the coordinator sees the protocol exercised the way agents use it.
//
// Not thread-safe: one benchmark worker thread owns an agent, and at most one Sync of an agent
// is in flight at any time (the coordinator applies each (agent_id, seq) exactly once, in order).

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "anteroom/v1/sync.pb.h"

namespace anteroom::bench {

// The rooms every simulated agent serves, shared read-only by all agents.
struct RoomSet {
  explicit RoomSet(std::vector<std::string> room_ids);
  std::vector<std::string> ids;
  std::unordered_map<std::string, size_t> index;  // room id -> position in `ids`.
};

class SimulatedAgent {
 public:
  // REQUIRES: `rooms` outlives the agent.
  SimulatedAgent(std::string agent_id, const RoomSet* rooms, uint64_t seed);

  // The request to send next, stamped with `local_now_ms` (system clock, corrected by the
  // offset learned from replies). After OnFailure() this is the unsent-as-far-as-we-know
  // previous request again, with the same seq, as the protocol requires of a retry.
  // The reference stays valid until the next call of NextRequest/OnReply/OnFailure.
  const v1::SyncRequest& NextRequest(int64_t local_now_ms);

  // Takes in the reply to the request last returned by NextRequest. `sent_ms`/`received_ms`
  // are local times around the call; they give the coordinator clock offset.
  void OnReply(const v1::SyncResponse& reply, int64_t sent_ms, int64_t received_ms);

  // The call failed: the next NextRequest repeats the same request.
  void OnFailure() { retry_ = true; }

  const std::string& id() const { return request_.agent_id(); }
  // Budget this agent spent (admissions reported) over its life.
  int64_t admitted() const { return admitted_; }

 private:
  struct RoomState {
    int64_t budget = 0;           // Granted by the last reply.
    int64_t lease_expiry_ms = 0;  // Coordinator time.
  };

  void FillReport(int64_t now_ms, size_t room, v1::RoomReport* report);
  int64_t Uniform(int64_t lo, int64_t hi);

  const RoomSet* rooms_;
  std::mt19937_64 rng_;
  v1::SyncRequest request_;
  std::vector<RoomState> state_;
  bool retry_ = false;
  uint64_t next_seq_ = 1;
  int64_t clock_offset_ms_ = 0;  // Coordinator time minus local time.
  int64_t admitted_ = 0;
};

}  // namespace anteroom::bench
