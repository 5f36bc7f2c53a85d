#include "coordinator/rocksdb_store.h"

#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/str_cat.h"
#include "coordinator/state_codec.h"

namespace anteroom::coordinator {
namespace {

// "default" is RocksDB's own name for the column family every database has.
const char* const kColumnNames[] = {"default", "config", "rooms",  "buckets", "sessions",
                                    "agents",  "keys",   "leases", "revoked"};

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsIOError()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

template <typename Proto>
absl::Status ParseInto(const rocksdb::Slice& value, absl::string_view what, Proto* out) {
  if (!out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("cannot decode ", what));
  }
  return absl::OkStatus();
}

}  // namespace

StoreBatch::StoreBatch(const RocksDbStore* store)
    : store_(store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
StoreBatch::StoreBatch(StoreBatch&&) noexcept = default;
StoreBatch& StoreBatch::operator=(StoreBatch&&) noexcept = default;
StoreBatch::~StoreBatch() = default;

void StoreBatch::PutGenerations(int64_t config_generation, int64_t keys_generation) {
  auto* cf = store_->columns_[RocksDbStore::kDefault];
  batch_->Put(cf, "config_generation", EncodeFixed64(config_generation));
  batch_->Put(cf, "keys_generation", EncodeFixed64(keys_generation));
  count_ += 2;
}

void StoreBatch::PutRoomConfig(const v1::Room& room) {
  batch_->Put(store_->columns_[RocksDbStore::kConfig], "r" + room.id(), room.SerializeAsString());
  ++count_;
}

void StoreBatch::DeleteRoom(const std::string& room_id) {
  batch_->Delete(store_->columns_[RocksDbStore::kConfig], "r" + room_id);
  batch_->Delete(store_->columns_[RocksDbStore::kRooms], room_id);
  for (auto column : {RocksDbStore::kBuckets, RocksDbStore::kSessions, RocksDbStore::kLeases,
                      RocksDbStore::kRevoked}) {
    batch_->DeleteRange(store_->columns_[column], RoomRangeBegin(room_id), RoomRangeEnd(room_id));
  }
  count_ += 6;
}

void StoreBatch::PutPool(const v1::Pool& pool) {
  batch_->Put(store_->columns_[RocksDbStore::kConfig], "p" + pool.id(), pool.SerializeAsString());
  ++count_;
}

void StoreBatch::DeletePool(const std::string& pool_id) {
  batch_->Delete(store_->columns_[RocksDbStore::kConfig], "p" + pool_id);
  ++count_;
}

void StoreBatch::PutRoomChanges(const std::string& room_id, const RoomState& state,
                                const RoomChanges& changes) {
  if (changes.core) {
    batch_->Put(store_->columns_[RocksDbStore::kRooms], room_id,
                EncodeCore(state.core).SerializeAsString());
    ++count_;
  }
  auto* buckets = store_->columns_[RocksDbStore::kBuckets];
  for (int64_t b : changes.buckets) {
    auto it = state.buckets.find(b);
    if (it == state.buckets.end()) {
      batch_->Delete(buckets, RoomIntKey(room_id, b));
    } else {
      batch_->Put(buckets, RoomIntKey(room_id, b), EncodeBucket(it->second).SerializeAsString());
    }
    ++count_;
  }
  auto* leases = store_->columns_[RocksDbStore::kLeases];
  for (const std::string& agent : changes.leases) {
    auto it = state.leases.find(agent);
    if (it == state.leases.end()) {
      batch_->Delete(leases, RoomNameKey(room_id, agent));
    } else {
      batch_->Put(leases, RoomNameKey(room_id, agent),
                  EncodeLease(agent, it->second).SerializeAsString());
    }
    ++count_;
  }
  auto* sessions = store_->columns_[RocksDbStore::kSessions];
  for (int64_t slot : changes.slots) {
    auto it = state.sessions.find(slot);
    if (it == state.sessions.end()) {
      batch_->Delete(sessions, RoomIntKey(room_id, slot));
    } else {
      batch_->Put(sessions, RoomIntKey(room_id, slot), EncodeFixed64(it->second));
    }
    ++count_;
  }
  auto* revoked = store_->columns_[RocksDbStore::kRevoked];
  for (int64_t seq : changes.revocations) {
    auto it = state.revocations.find(seq);
    if (it == state.revocations.end()) {
      batch_->Delete(revoked, RoomIntKey(room_id, seq));
    } else {
      batch_->Put(revoked, RoomIntKey(room_id, seq),
                  EncodeRevocation(it->second).SerializeAsString());
    }
    ++count_;
  }
}

void StoreBatch::PutAgent(const std::string& agent_id, const v1::AgentRecord& record) {
  batch_->Put(store_->columns_[RocksDbStore::kAgents], agent_id, record.SerializeAsString());
  ++count_;
}

void StoreBatch::DeleteAgent(const std::string& agent_id) {
  batch_->Delete(store_->columns_[RocksDbStore::kAgents], agent_id);
  ++count_;
}

void StoreBatch::PutKey(const v1::SigningKey& key) {
  batch_->Put(store_->columns_[RocksDbStore::kKeys], key.id(), key.SerializeAsString());
  ++count_;
}

void StoreBatch::DeleteKey(const std::string& key_id) {
  batch_->Delete(store_->columns_[RocksDbStore::kKeys], key_id);
  ++count_;
}

absl::StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(const std::string& dir,
                                                                 Durability durability) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Small values, written often: keep memtables modest and let a background thread compact.
  options.write_buffer_size = 16 << 20;
  options.max_background_jobs = 2;
  options.keep_log_file_num = 4;
  // The coordinator keeps its state in memory and reads the database only when it starts, so
  // an append-only memtable (sorted once, at flush) beats a skiplist sorted on every write.
  options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  options.allow_concurrent_memtable_write = false;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kColumnNames) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  }
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(durability));
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, descriptors, &store->columns_, &db);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening RocksDB in ", dir));
  store->db_.reset(db);
  return store;
}

RocksDbStore::RocksDbStore(Durability durability) : durability_(durability) {}

RocksDbStore::~RocksDbStore() {
  for (auto* handle : columns_) {
    if (db_) db_->DestroyColumnFamilyHandle(handle);
  }
  if (db_) db_->Close();
}

absl::StatusOr<StoredState> RocksDbStore::Load() const {
  StoredState out;
  rocksdb::ReadOptions ro;
  auto scan = [&](Column column, auto&& fn) -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, columns_[column]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (auto st = fn(it->key(), it->value()); !st.ok()) return st;
    }
    return FromRocks(it->status(), "scanning");
  };
  absl::Status st = scan(kDefault, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    auto v = DecodeFixed64(std::string_view(value.data(), value.size()));
    if (!v.ok()) return v.status();
    if (key == "config_generation") out.config_generation = *v;
    if (key == "keys_generation") out.keys_generation = *v;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = scan(kConfig, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    if (key.size() < 2) return absl::DataLossError("empty config key");
    const std::string id(key.data() + 1, key.size() - 1);
    if (key[0] == 'r') return ParseInto(value, "room " + id, &out.rooms[id]);
    if (key[0] == 'p') return ParseInto(value, "pool " + id, &out.pools[id]);
    return absl::DataLossError(absl::StrCat("unknown config key ", key.ToString(true)));
  });
  if (!st.ok()) return st;
  st = scan(kRooms, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    v1::RoomCoreRecord record;
    if (auto s = ParseInto(value, "room state " + key.ToString(), &record); !s.ok()) return s;
    out.room_states[key.ToString()].core = DecodeCore(record);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = scan(kBuckets, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    std::string room;
    int64_t bucket;
    if (auto s = ParseRoomIntKey(std::string_view(key.data(), key.size()), &room, &bucket); !s.ok())
      return absl::DataLossError(absl::StrCat("bucket key ", key.ToString(true)));
    v1::BucketRecord record;
    if (auto s = ParseInto(value, "bucket of " + room, &record); !s.ok()) return s;
    out.room_states[room].buckets[bucket] = DecodeBucket(record);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = scan(kSessions, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    std::string room;
    int64_t slot;
    if (auto s = ParseRoomIntKey(std::string_view(key.data(), key.size()), &room, &slot); !s.ok())
      return absl::DataLossError(absl::StrCat("session key ", key.ToString(true)));
    auto n = DecodeFixed64(std::string_view(value.data(), value.size()));
    if (!n.ok()) return n.status();
    out.room_states[room].sessions[slot] = *n;
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = scan(kLeases, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    std::string room, agent;
    if (!ParseRoomNameKey(std::string_view(key.data(), key.size()), &room, &agent).ok()) {
      return absl::DataLossError(absl::StrCat("lease key ", key.ToString(true)));
    }
    v1::LeaseRecord record;
    if (auto s = ParseInto(value, "lease of " + room, &record); !s.ok()) return s;
    out.room_states[room].leases[agent] = DecodeLease(record);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = scan(kRevoked, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    std::string room;
    int64_t seq;
    if (auto s = ParseRoomIntKey(std::string_view(key.data(), key.size()), &room, &seq); !s.ok())
      return absl::DataLossError(absl::StrCat("revocation key ", key.ToString(true)));
    v1::RevocationRecord record;
    if (auto s = ParseInto(value, "revocation of " + room, &record); !s.ok()) return s;
    out.room_states[room].revocations[seq] = DecodeRevocation(record);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  st = scan(kAgents, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    return ParseInto(value, "agent " + key.ToString(), &out.agents[key.ToString()]);
  });
  if (!st.ok()) return st;
  st = scan(kKeys, [&](rocksdb::Slice key, rocksdb::Slice value) -> absl::Status {
    return ParseInto(value, "key " + key.ToString(), &out.keys[key.ToString()]);
  });
  if (!st.ok()) return st;
  return out;
}

absl::Status RocksDbStore::Commit(StoreBatch& batch) {
  if (batch.empty()) return absl::OkStatus();
  rocksdb::WriteOptions wo;
  wo.sync = durability_ == Durability::kSync;
  return FromRocks(db_->Write(wo, batch.batch_.get()), "writing batch");
}

absl::Status RocksDbStore::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  if (auto s = FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"); !s.ok())
    return s;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  return FromRocks(checkpoint->CreateCheckpoint(dir), absl::StrCat("checkpoint into ", dir));
}

}  // namespace anteroom::coordinator
