#include "agent/room_counters.h"

#include <gtest/gtest.h>

namespace anteroom::agent {
namespace {

constexpr int64_t kNowMs = 1'800'000'000'000;

TEST(RoomCountersTest, OlderEligibleUsersGetTheBudgetFirst) {
  RoomCounters counters;
  counters.Grant(1, kNowMs + 1000);
  counters.CountEligibleWaiting(/*visitor=*/1, /*bucket=*/100, kNowMs);
  // A younger user polls first: the one seat is kept for the older user seen waiting here.
  EXPECT_FALSE(counters.TrySpendQueued(2, 105, kNowMs + 10));
  EXPECT_EQ(counters.budget(), 1);
  EXPECT_TRUE(counters.TrySpendQueued(1, 100, kNowMs + 20));
  EXPECT_EQ(counters.budget(), 0);
  // The older user is admitted and forgotten: the next seat is the younger user's.
  counters.Grant(1, kNowMs + 2000);
  EXPECT_TRUE(counters.TrySpendQueued(2, 105, kNowMs + 30));
}

TEST(RoomCountersTest, SameBucketAndOlderUsersAreNotHeldBack) {
  RoomCounters counters;
  counters.Grant(1, kNowMs + 1000);
  counters.CountEligibleWaiting(1, 100, kNowMs);
  EXPECT_TRUE(counters.TrySpendQueued(2, 100, kNowMs + 10));  // Same bucket: no order.
  counters.Grant(1, kNowMs + 1000);
  EXPECT_TRUE(counters.TrySpendQueued(3, 90, kNowMs + 20));  // Older than anyone seen.
}

TEST(RoomCountersTest, AnOlderUserWhoLeftStopsHoldingTheSeat) {
  RoomCounters counters;
  counters.Grant(1, kNowMs + 10'000);
  counters.CountEligibleWaiting(1, 100, kNowMs);
  EXPECT_FALSE(counters.TrySpendQueued(2, 105, kNowMs + RoomCounters::kEligibleWindowMs));
  EXPECT_TRUE(counters.TrySpendQueued(2, 105, kNowMs + RoomCounters::kEligibleWindowMs + 1));
}

TEST(RoomCountersTest, NoSpendingAfterTheLease) {
  RoomCounters counters;
  counters.Grant(3, kNowMs + 1000);
  EXPECT_FALSE(counters.TrySpendQueued(1, 100, kNowMs + 1000));
  EXPECT_EQ(counters.budget(), 3);
}

TEST(RoomCountersTest, ReportsWantedBudgetByBucket) {
  RoomCounters counters;
  counters.CountEligibleWaiting(1, 105, kNowMs);
  counters.CountEligibleWaiting(2, 100, kNowMs);
  counters.CountEligibleWaiting(3, 105, kNowMs);
  counters.CountEligibleWaiting(3, 105, kNowMs + 5);  // The same user again.
  v1::RoomReport report;
  counters.Drain(&report, kNowMs + 10);
  EXPECT_EQ(report.budget_wanted(), 3);
  ASSERT_EQ(report.wanted_buckets_size(), 2);
  EXPECT_EQ(report.wanted_buckets(0).bucket(), 100);
  EXPECT_EQ(report.wanted_buckets(0).count(), 1);
  EXPECT_EQ(report.wanted_buckets(1).bucket(), 105);
  EXPECT_EQ(report.wanted_buckets(1).count(), 2);
}

TEST(RoomCountersTest, RandomRoomsReportNoBuckets) {
  RoomCounters counters;
  counters.CountEligibleWaiting(1, 0, kNowMs);
  counters.CountEligibleWaiting(2, 0, kNowMs);
  v1::RoomReport report;
  counters.Drain(&report, kNowMs + 10);
  EXPECT_EQ(report.budget_wanted(), 2);
  EXPECT_EQ(report.wanted_buckets_size(), 0);
}

}  // namespace
}  // namespace anteroom::agent
