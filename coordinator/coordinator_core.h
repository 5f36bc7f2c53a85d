#pragma once

// CoordinatorCore: everything one coordinator shard owns (rooms with their engines, pools,
// agents' last applied seq, signing keys) and the operations on it. Each operation validates
// first and then mutates, so an operation that returns an error has changed nothing; the writes
// it made go into the caller's StoreBatch.
//
// Thread-compatible: the CommitLoop's thread is its only caller.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "anteroom/v1/admin.pb.h"
#include "anteroom/v1/sync.pb.h"
#include "coordinator/rocksdb_store.h"
#include "coordinator/room_engine.h"

namespace anteroom::coordinator {

struct CoreOptions {
  int shard_index = 0;
  int shard_count = 1;
  int64_t sync_interval_ms = 500;
  EngineOptions engine;
  int64_t idle_agent_ms = 3600 * 1000;    // Forget an agent's seq after this much silence.
  int64_t health_report_ttl_ms = 30'000;  // An agent's origin report counts this long.
};

class CoordinatorCore {
 public:
  explicit CoordinatorCore(CoreOptions options);

  // Replaces everything with `state`. Creates the first signing key when there is none
  // (written into `batch`).
  void Reset(StoredState state, int64_t now_ms, StoreBatch& batch);

  // FailedPrecondition naming the owner when this shard does not own `room_id`.
  absl::Status CheckOwner(const std::string& room_id) const;

  // Applies a validated Sync exactly once per (agent_id, seq) and fills `response`.
  // A repeat of the last seq is answered from the current state without applying anything;
  // an older seq gets FailedPrecondition.
  absl::Status ApplySync(const v1::SyncRequest& request, int64_t now_ms, v1::SyncResponse* response,
                         StoreBatch& batch);

  absl::StatusOr<v1::Room> CreateRoom(v1::Room room, int64_t now_ms, StoreBatch& batch);
  absl::StatusOr<v1::Room> UpdateRoom(v1::Room room, int64_t expected_version, int64_t now_ms,
                                      StoreBatch& batch);
  absl::Status DeleteRoom(const std::string& id, StoreBatch& batch);
  absl::StatusOr<v1::Room> GetRoom(const std::string& id) const;
  std::vector<v1::Room> ListRooms() const;
  absl::StatusOr<v1::RoomStatus> RoomStatus(const std::string& id, int64_t now_ms);

  absl::StatusOr<v1::Pool> CreatePool(v1::Pool pool, StoreBatch& batch);
  absl::StatusOr<v1::Pool> UpdatePool(v1::Pool pool, int64_t expected_version, StoreBatch& batch);
  absl::Status DeletePool(const std::string& id, StoreBatch& batch);
  absl::StatusOr<v1::Pool> GetPool(const std::string& id) const;
  std::vector<v1::Pool> ListPools() const;

  // Majority verdicts of the agents' recent origin reports; empty pool_id = every pool.
  std::vector<v1::OriginVerdict> OriginHealth(const std::string& pool_id, int64_t now_ms) const;

  // Makes a new key current; the previous one retires after the longest session duration.
  v1::RotateKeysResponse RotateKeys(int64_t now_ms, StoreBatch& batch);

  // Expires leases, compacts rooms, retires keys and forgets idle agents.
  void Maintain(int64_t now_ms, StoreBatch& batch);

  // Writes the room state that changed since the last call.
  void FlushRoomChanges(StoreBatch& batch);

  // Totals for metrics, by room id.
  struct RoomTotals {
    int64_t waiting = 0, active = 0, outstanding = 0, admissions = 0;
  };
  std::map<std::string, RoomTotals> Totals() const;
  int64_t config_generation() const { return config_generation_; }

 private:
  struct HealthReport {
    bool healthy;
    int64_t latency_us;
    int64_t at_ms;
  };

  void BumpConfig(StoreBatch& batch);
  // Config, keys, health and time: the parts of a Sync reply that depend on no room.
  void FillReplyTail(const v1::SyncRequest& request, int64_t now_ms,
                     v1::SyncResponse* response) const;
  void AddKey(int64_t now_ms, StoreBatch& batch);
  int64_t LongestSessionSeconds() const;
  RoomEngine* FindRoom(const std::string& id);

  CoreOptions options_;
  int64_t config_generation_ = 0;
  int64_t keys_generation_ = 0;
  std::map<std::string, std::unique_ptr<RoomEngine>> rooms_;
  std::map<std::string, v1::Pool> pools_;
  std::map<std::string, v1::AgentRecord> agents_;
  std::map<std::string, v1::SigningKey> keys_;
  std::set<std::string> touched_;  // Rooms with unflushed changes.
  // (pool, origin) -> agent -> its latest report. Soft state: rebuilt within a tick.
  std::map<std::pair<std::string, std::string>, std::map<std::string, HealthReport>> health_;
};

}  // namespace anteroom::coordinator
