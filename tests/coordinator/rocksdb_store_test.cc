#include "coordinator/rocksdb_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "coordinator/state_codec.h"
#include "tests/testing/process.h"

namespace anteroom::coordinator {
namespace {

class RocksDbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("anteroom-store"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::unique_ptr<RocksDbStore> Open() {
    auto store = RocksDbStore::Open(dir_ + "/db", Durability::kSync);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  RoomState SampleState() {
    RoomState s;
    s.core.marker = {.bucket = 1700000000, .fraction = 0.25, .probability = 0.5};
    s.leases["agent-a"] = {.granted = 3,
                           .expiry_ms = 99,
                           .grant_second = 7,
                           .wanted = 4,
                           .wanted_buckets = {{1699999990, 3}, {1699999995, 1}},
                           .last_sync_ms = 98,
                           .arrival_rate = 2.5,
                           .presumed_count = 1,
                           .presumed_slot = 1000};
    s.core.grants_by_second[1700000000] = 3;
    s.core.admissions_by_10s[1699999990] = 12;
    s.core.queued_by_10s[1699999990] = 1;
    s.core.total_admissions = 12;
    s.core.invalid_tokens = 2;
    s.core.revocation_seq = 8;
    s.revocations[7] = {.visitor = std::string(16, 'v'), .slot = 1700000300, .until_ms = 5};
    s.revocations[8] = {.visitor = std::string(16, 'w'), .slot = 1700000310, .until_ms = 6};
    BucketState b;
    b.arrivals = 5;
    b.epoch[0] = 10;
    b.epoch[1] = 11;
    b.present[1] = 4;
    b.admitted[0] = 1;
    s.buckets[1699999999] = b;
    s.buckets[-5] = b;  // Negative keys order correctly too.
    s.sessions[1700000300] = 7;
    s.sessions[1700000310] = -1;
    return s;
  }

  std::string dir_;
};

TEST_F(RocksDbStoreTest, RoundTripsEverythingItStores) {
  RoomState state = SampleState();
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    StoreBatch batch = store->NewBatch();
    v1::Room room;
    room.set_id("shop");
    room.set_total_active_users(10);
    batch.PutRoomConfig(room);
    v1::Pool pool;
    pool.set_id("eu");
    batch.PutPool(pool);
    RoomChanges all{.core = true,
                    .buckets = {-5, 1699999999},
                    .slots = {1700000300, 1700000310},
                    .leases = {"agent-a"},
                    .revocations = {7, 8}};
    batch.PutRoomChanges("shop", state, all);
    v1::AgentRecord agent;
    agent.set_last_seq(42);
    batch.PutAgent("agent-a", agent);
    v1::SigningKey key;
    key.set_id("k1");
    key.set_secret(std::string(32, 's'));
    batch.PutKey(key);
    batch.PutGenerations(5, 2);
    ASSERT_TRUE(store->Commit(batch).ok());
  }
  auto store = Open();
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config_generation, 5);
  EXPECT_EQ(loaded->keys_generation, 2);
  EXPECT_EQ(loaded->rooms.at("shop").total_active_users(), 10);
  EXPECT_TRUE(loaded->pools.count("eu"));
  EXPECT_EQ(loaded->room_states.at("shop"), state);
  EXPECT_EQ(loaded->agents.at("agent-a").last_seq(), 42u);
  EXPECT_EQ(loaded->keys.at("k1").secret(), std::string(32, 's'));
}

TEST_F(RocksDbStoreTest, WritesOnlyChangedKeysAndDeletesErasedOnes) {
  auto store = Open();
  RoomState state = SampleState();
  StoreBatch batch = store->NewBatch();
  batch.PutRoomChanges("shop", state,
                       {.core = true,
                        .buckets = {-5, 1699999999},
                        .slots = {1700000300},
                        .leases = {},
                        .revocations = {7, 8}});
  ASSERT_TRUE(store->Commit(batch).ok());
  state.buckets.erase(-5);
  state.sessions.erase(1700000300);
  state.revocations.erase(7);
  StoreBatch second = store->NewBatch();
  second.PutRoomChanges("shop", state,
                        {.buckets = {-5}, .slots = {1700000300}, .leases = {}, .revocations = {7}});
  ASSERT_TRUE(store->Commit(second).ok());
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  const RoomState& got = loaded->room_states.at("shop");
  EXPECT_EQ(got.buckets.size(), 1u);
  EXPECT_TRUE(got.sessions.empty());
  ASSERT_EQ(got.revocations.size(), 1u);
  EXPECT_EQ(got.revocations.begin()->first, 8);
}

TEST_F(RocksDbStoreTest, DeleteRoomRemovesAllOfItsStateButNoOtherRoom) {
  auto store = Open();
  RoomState state = SampleState();
  RoomChanges all{.core = true,
                  .buckets = {-5, 1699999999},
                  .slots = {1700000300, 1700000310},
                  .leases = {"agent-a"},
                  .revocations = {7, 8}};
  StoreBatch batch = store->NewBatch();
  for (const char* id : {"shop", "shop2", "sho"}) {
    v1::Room room;
    room.set_id(id);
    batch.PutRoomConfig(room);
    batch.PutRoomChanges(id, state, all);
  }
  ASSERT_TRUE(store->Commit(batch).ok());
  StoreBatch del = store->NewBatch();
  del.DeleteRoom("shop");
  ASSERT_TRUE(store->Commit(del).ok());
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->rooms.count("shop"));
  EXPECT_FALSE(loaded->room_states.count("shop"));
  EXPECT_EQ(loaded->room_states.at("shop2"), state);
  EXPECT_EQ(loaded->room_states.at("sho"), state);
}

TEST_F(RocksDbStoreTest, SecondOpenOfALockedDirectoryFailsNamingIt) {
  auto store = Open();
  auto second = RocksDbStore::Open(dir_ + "/db", Durability::kSync);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find(dir_), std::string::npos);
}

TEST_F(RocksDbStoreTest, CheckpointHoldsACopy) {
  auto store = Open();
  StoreBatch batch = store->NewBatch();
  v1::Room room;
  room.set_id("shop");
  batch.PutRoomConfig(room);
  ASSERT_TRUE(store->Commit(batch).ok());
  ASSERT_TRUE(store->Checkpoint(dir_ + "/backup").ok());
  auto copy = RocksDbStore::Open(dir_ + "/backup", Durability::kSync);
  ASSERT_TRUE(copy.ok());
  auto loaded = (*copy)->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->rooms.count("shop"));
  EXPECT_FALSE(store->Checkpoint(dir_ + "/backup").ok()) << "an existing directory is refused";
}

TEST(StateCodecTest, KeysSortNumericallyAndParseBack) {
  EXPECT_LT(RoomIntKey("r", -1), RoomIntKey("r", 0));
  EXPECT_LT(RoomIntKey("r", 9), RoomIntKey("r", 10));
  EXPECT_LT(RoomIntKey("r", 1LL << 40), RoomIntKey("r", 1LL << 41));
  EXPECT_LT(RoomIntKey("r", INT64_MAX), RoomRangeEnd("r"));
  EXPECT_GE(RoomIntKey("r", INT64_MIN), RoomRangeBegin("r"));
  std::string room;
  int64_t v;
  ASSERT_TRUE(ParseRoomIntKey(RoomIntKey("room-1", -77), &room, &v).ok());
  EXPECT_EQ(room, "room-1");
  EXPECT_EQ(v, -77);
  EXPECT_FALSE(ParseRoomIntKey("short", &room, &v).ok());
  EXPECT_FALSE(DecodeFixed64("abc").ok());
}

}  // namespace
}  // namespace anteroom::coordinator

namespace anteroom::coordinator {
namespace {

TEST(StateCodecTest, ADamagedArrivalRateDecodesAsNoRate) {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -3.0}) {
    Lease good;
    good.granted = 2;
    good.arrival_rate = 1.0;
    v1::LeaseRecord record = EncodeLease("agent-a", good);
    record.set_arrival_rate(bad);
    const Lease lease = DecodeLease(record);
    EXPECT_EQ(lease.arrival_rate, 0.0) << bad;
    EXPECT_EQ(lease.granted, 2);
  }
}

}  // namespace
}  // namespace anteroom::coordinator
