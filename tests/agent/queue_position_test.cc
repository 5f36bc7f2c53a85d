#include "agent/queue_position.h"

#include <gtest/gtest.h>

namespace anteroom::agent {
namespace {

QueuePosition EtaOf(int64_t seconds) {
  QueuePosition p;
  p.position = 3;
  p.eta_seconds = seconds;
  return p;
}

TEST(RefreshAfterSecondsTest, EligibleUsersPollEverySecond) {
  EXPECT_EQ(RefreshAfterSeconds(true, EtaOf(600), 30), 1);
}

TEST(RefreshAfterSecondsTest, AShortWaitPollsAfterOneSecond) {
  // A room under its limits briefly behind a burst: the user gets in at the first poll after
  // the marker reaches them, so the poll must not wait the room's whole refresh interval.
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(0), 3), 1);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(2), 3), 1);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(5), 3), 1);
}

TEST(RefreshAfterSecondsTest, NearTheFrontPollsFasterThanTheRefreshInterval) {
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(40), 30), 10);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(60), 30), 15);
}

TEST(RefreshAfterSecondsTest, FarBackPollsAtTheRefreshInterval) {
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(61), 30), 30);
  EXPECT_EQ(RefreshAfterSeconds(false, EtaOf(7), 3), 3);
}

}  // namespace
}  // namespace anteroom::agent
