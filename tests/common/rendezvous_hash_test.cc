#include "common/rendezvous_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace anteroom::common {
namespace {

std::vector<std::string> RoomIds(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("room-" + std::to_string(i));
  return ids;
}

TEST(RendezvousHashTest, OneShardOwnsEverything) {
  for (const std::string& id : RoomIds(100)) EXPECT_EQ(OwnerShard(id, 1), 0) << id;
}

TEST(RendezvousHashTest, OwnerIsInRangeAndTheSameEveryTime) {
  for (int shards = 2; shards <= 9; ++shards) {
    for (const std::string& id : RoomIds(200)) {
      const int owner = OwnerShard(id, shards);
      ASSERT_GE(owner, 0);
      ASSERT_LT(owner, shards);
      EXPECT_EQ(OwnerShard(id, shards), owner);
    }
  }
}

TEST(RendezvousHashTest, KnownOwnersStayTheSameAcrossReleases) {
  // Agents and coordinators of different builds must agree on every room's owner.
  EXPECT_EQ(StableHash64("shop"), 7784307407480800614u);
  EXPECT_EQ(StableHash64("tickets"), 3670154061233756219u);
  EXPECT_NE(StableHash64("shop", 1), StableHash64("shop"));
  EXPECT_EQ(OwnerShard("shop", 4), 0);
  EXPECT_EQ(OwnerShard("tickets", 4), 1);
  EXPECT_EQ(OwnerShard("drop-2026", 4), 2);
  EXPECT_EQ(OwnerShard("shop", 7), 4);
  EXPECT_EQ(OwnerShard("vaccines", 7), 6);
}

TEST(RendezvousHashTest, SpreadsRoomsEvenly) {
  constexpr int kShards = 4, kRooms = 4000;
  std::vector<int> count(kShards);
  for (const std::string& id : RoomIds(kRooms)) ++count[OwnerShard(id, kShards)];
  for (int shard = 0; shard < kShards; ++shard) {
    // 1,000 expected; a fair hash stays well within +-15 %.
    EXPECT_GT(count[shard], 850) << "shard " << shard;
    EXPECT_LT(count[shard], 1150) << "shard " << shard;
  }
}

TEST(RendezvousHashTest, AddingAShardMovesOnlyTheRoomsItWins) {
  constexpr int kRooms = 3000;
  int moved = 0;
  for (const std::string& id : RoomIds(kRooms)) {
    const int before = OwnerShard(id, 3);
    const int after = OwnerShard(id, 4);
    if (after != before) {
      EXPECT_EQ(after, 3) << id << " moved between old shards";
      ++moved;
    }
  }
  // About a quarter of the rooms go to the new shard.
  EXPECT_GT(moved, kRooms / 4 - kRooms / 20);
  EXPECT_LT(moved, kRooms / 4 + kRooms / 20);
}

}  // namespace
}  // namespace anteroom::common
