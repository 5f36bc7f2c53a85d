#pragma once

// RocksDbStore: the coordinator's durable state in one RocksDB instance. The only file pair of
// the coordinator that includes RocksDB headers.
//
// Column families and keys (integers in keys: 8 bytes big-endian, sign bit flipped):
//   default   "config_generation" | "keys_generation"   -> 8-byte big-endian int64
//   config    'r' room_id                                -> anteroom.v1.Room
//             'p' pool_id                                -> anteroom.v1.Pool
//   rooms     room_id                                    -> anteroom.v1.RoomCoreRecord
//   leases    room_id 0x00 agent_id                      -> anteroom.v1.LeaseRecord
//   buckets   room_id 0x00 int64(bucket)                 -> anteroom.v1.BucketRecord
//   sessions  room_id 0x00 int64(slot)                   -> 8-byte big-endian int64 (net count)
//   revoked   room_id 0x00 int64(seq)                    -> anteroom.v1.RevocationRecord
//   agents    agent_id                                   -> anteroom.v1.AgentRecord
//   keys      key_id                                     -> anteroom.v1.SigningKey
//
// Every change reaches the disk through one StoreBatch committed as one atomic WriteBatch, so a
// crash leaves either all of a batch or none of it. Thread-safe: Commit and Checkpoint may be
// called from any thread (the coordinator commits from one).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "anteroom/v1/pool.pb.h"
#include "anteroom/v1/room.pb.h"
#include "anteroom/v1/state.pb.h"
#include "anteroom/v1/sync.pb.h"
#include "coordinator/room_state.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace anteroom::coordinator {

enum class Durability {
  kSync,   // fsync the WAL on every commit (a group commit of many requests).
  kAsync,  // write to the OS only: a machine crash may lose the last moments.
};

// Everything persisted, as loaded at startup.
struct StoredState {
  int64_t config_generation = 0;
  int64_t keys_generation = 0;
  std::map<std::string, v1::Room> rooms;
  std::map<std::string, v1::Pool> pools;
  std::map<std::string, RoomState> room_states;
  std::map<std::string, v1::AgentRecord> agents;
  std::map<std::string, v1::SigningKey> keys;
};

class RocksDbStore;

// Writes to commit together. Made by RocksDbStore::NewBatch; not thread-safe.
class StoreBatch {
 public:
  StoreBatch(StoreBatch&&) noexcept;
  StoreBatch& operator=(StoreBatch&&) noexcept;
  ~StoreBatch();

  void PutGenerations(int64_t config_generation, int64_t keys_generation);
  void PutRoomConfig(const v1::Room& room);
  // Deletes the room's settings and all of its state.
  void DeleteRoom(const std::string& room_id);
  void PutPool(const v1::Pool& pool);
  void DeletePool(const std::string& pool_id);
  // Writes the keys `changes` names from `state` (deleting those absent from it).
  void PutRoomChanges(const std::string& room_id, const RoomState& state,
                      const RoomChanges& changes);
  void PutAgent(const std::string& agent_id, const v1::AgentRecord& record);
  void DeleteAgent(const std::string& agent_id);
  void PutKey(const v1::SigningKey& key);
  void DeleteKey(const std::string& key_id);

  int count() const { return count_; }
  bool empty() const { return count_ == 0; }

 private:
  friend class RocksDbStore;
  explicit StoreBatch(const RocksDbStore* store);

  const RocksDbStore* store_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  int count_ = 0;
};

class RocksDbStore {
 public:
  // Opens or creates the database in `dir`. InvalidArgument/Internal naming the directory and
  // RocksDB's reason when it cannot (locked by another process, unreadable, corrupt).
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(const std::string& dir,
                                                            Durability durability);
  ~RocksDbStore();

  // Reads everything. DataLoss naming the key when a record does not decode.
  absl::StatusOr<StoredState> Load() const;

  StoreBatch NewBatch() const { return StoreBatch(this); }
  // Applies `batch` atomically; with kSync durability it is on disk when this returns OK.
  absl::Status Commit(StoreBatch& batch);
  // Writes a consistent copy of the database into `dir`, which must not exist yet.
  absl::Status Checkpoint(const std::string& dir);

  Durability durability() const { return durability_; }

 private:
  friend class StoreBatch;
  enum Column {
    kDefault,
    kConfig,
    kRooms,
    kBuckets,
    kSessions,
    kAgents,
    kKeys,
    kLeases,
    kRevoked,
    kColumnCount
  };

  explicit RocksDbStore(Durability durability);

  Durability durability_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> columns_;
};

}  // namespace anteroom::coordinator
