#include "agent/queue_position.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace anteroom::agent {
namespace {

QueuePosition EtaOf(int64_t seconds) {
  QueuePosition p;
  p.position = 3;
  p.eta_seconds = seconds;
  return p;
}

TEST(RefreshAfterSecondsTest, EligibleUsersPollEverySecond) {
  EXPECT_EQ(RefreshAfterSeconds(true, EtaOf(600), 30, 0), 1);
}

TEST(RefreshAfterSecondsTest, AShortWaitPollsAfterOneSecond) {
  // A room under its limits briefly behind a burst: the user gets in at the first poll after
  // the marker reaches them, so the poll must not wait the room's whole refresh interval.
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(0), 3, 0), 1);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(2), 3, 0), 1);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(5), 3, 0), 1);
}

TEST(RefreshAfterSecondsTest, NearTheFrontPollsFasterThanTheRefreshInterval) {
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(40), 30, 0), 10);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(60), 30, 0), 15);
}

TEST(RefreshAfterSecondsTest, FarBackPollsAtTheRefreshInterval) {
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(61), 30, 0), 30);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(7), 3, 0), 3);
}

TEST(RefreshAfterSecondsTest, UsersTheFrontCouldReachBeforeTheNextPollPollSooner) {
  // A 1-seat room whose holder may check out at any moment: the first in line polls every
  // second however long the estimate, while users far back keep the room's pace.
  QueuePosition first = EtaOf(300);
  first.position = 1;
  EXPECT_EQ(RefreshAfterSeconds(false, first, 20, 10.0), 1);
  QueuePosition tenth = EtaOf(300);
  tenth.position = 41;  // 40 ahead at 10/s: reachable in 4 s at the earliest.
  EXPECT_EQ(RefreshAfterSeconds(false, tenth, 20, 10.0), 2);
  QueuePosition far = EtaOf(300);
  far.position = 1000;
  EXPECT_EQ(RefreshAfterSeconds(false, far, 20, 10.0), 20);
}

v1::RoomView ViewOf(std::vector<std::array<int64_t, 4>> entries, int64_t waiting, double spu) {
  // {first_bucket, last_bucket, users_ahead, waiting}; eta = users_ahead * spu.
  v1::RoomView view;
  for (const auto& [first, last, ahead, w] : entries) {
    v1::EtaEntry* e = view.add_eta();
    e->set_first_bucket(first);
    e->set_last_bucket(last);
    e->set_users_ahead(ahead);
    e->set_waiting(w);
    e->set_eta_seconds(static_cast<int64_t>(static_cast<double>(ahead) * spu));
  }
  view.set_waiting(waiting);
  view.set_seconds_per_user(spu);
  view.set_max_outflow_per_second(1.0 / spu);
  return view;
}

TEST(PositionOfTest, NewcomersOfOneSecondGetDistinctPlacesBehindEveryoneCounted) {
  const v1::RoomView view = ViewOf({{100, 100, 0, 5}, {101, 101, 5, 3}}, 8, 2.0);
  // Three newcomers this agent queued in second 104, in arrival order.
  std::vector<int64_t> positions, etas;
  for (int64_t ahead = 0; ahead < 3; ++ahead) {
    QueuePosition p = PositionOf(view, 104, 0.5, ahead, 104);
    positions.push_back(p.position);
    etas.push_back(p.eta_seconds);
  }
  EXPECT_EQ(positions, (std::vector<int64_t>{9, 10, 11}));
  EXPECT_EQ(etas, (std::vector<int64_t>{16, 18, 20}));
}

TEST(PositionOfTest, AnEmptyViewStillOrdersNewcomersAndNeverPromisesZeroBehindTheFront) {
  v1::RoomView view = ViewOf({}, 0, 0.0);
  view.set_max_outflow_per_second(0);
  QueuePosition first = PositionOf(view, 50, 0.9, 0, 50);
  QueuePosition third = PositionOf(view, 50, 0.1, 2, 50);
  EXPECT_EQ(first.position, 1);
  EXPECT_EQ(third.position, 3);
  EXPECT_GE(third.eta_seconds, 1);
  EXPECT_EQ(third.progress, 0);
}

TEST(PositionOfTest, ACountedBucketSplitsByVisitorFraction) {
  const v1::RoomView view = ViewOf({{100, 100, 0, 10}, {101, 102, 10, 4}}, 14, 1.0);
  EXPECT_EQ(PositionOf(view, 100, 0.55, 0, 110).position, 6);
  EXPECT_EQ(PositionOf(view, 102, 0.0, 0, 110).position, 11);
  EXPECT_EQ(PositionOf(view, 103, 0.0, 0, 110).position, 15);  // Newer than any counted.
}

}  // namespace
}  // namespace anteroom::agent
