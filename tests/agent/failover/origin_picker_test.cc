// The failover table and steering: which origin a request gets as origins go up and down.

#include "agent/failover/origin_picker.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "agent/failover/failover_table.h"

namespace anteroom::agent {
namespace {

v1::Pool MakePool(const std::string& id, int origins, v1::SteeringPolicy steering,
                  int minimum_healthy = 0) {
  v1::Pool pool;
  pool.set_id(id);
  pool.set_steering(steering);
  pool.set_minimum_healthy(minimum_healthy);
  for (int i = 0; i < origins; ++i) {
    v1::Origin* o = pool.add_origins();
    o->set_address("10.0.0." + std::to_string(i + 1));
    o->set_port(8000 + i);
  }
  return pool;
}

OriginState& Origin(const FailoverTable& table, const std::string& pool, int i) {
  return *table.Find(pool)->origins.at(i);
}

std::string Pick(const PoolOrder& order, const UpstreamRoute& route = {}, uint64_t random = 0) {
  OriginState* o = PickOrigin(order, route, random);
  return o == nullptr ? "none" : o->pool_id + "/" + o->key;
}

TEST(FailoverTableTest, FailoverGoesByOrderThenToTheNextPoolThenTheFallback) {
  auto table = FailoverTable::Build({MakePool("main", 2, v1::STEERING_POLICY_FAILOVER),
                                     MakePool("dr", 1, v1::STEERING_POLICY_FAILOVER),
                                     MakePool("sorry", 1, v1::STEERING_POLICY_FAILOVER)},
                                    nullptr);
  PoolOrder order = table->Order({"main", "dr"}, "sorry");
  EXPECT_EQ(Pick(order), "main/10.0.0.1:8000");
  Origin(*table, "main", 0).up = false;
  EXPECT_EQ(Pick(order), "main/10.0.0.2:8001");
  Origin(*table, "main", 1).up = false;
  EXPECT_EQ(Pick(order), "dr/10.0.0.1:8000");
  Origin(*table, "dr", 0).up = false;
  EXPECT_EQ(Pick(order), "sorry/10.0.0.1:8000");
  Origin(*table, "sorry", 0).up = false;
  EXPECT_EQ(Pick(order), "none");
  Origin(*table, "main", 1).up = true;
  EXPECT_EQ(Pick(order), "main/10.0.0.2:8001");
}

TEST(FailoverTableTest, APoolBelowMinimumHealthyIsSkippedWhole) {
  auto table = FailoverTable::Build(
      {MakePool("main", 3, v1::STEERING_POLICY_FAILOVER, 2), MakePool("dr", 1, {})}, nullptr);
  PoolOrder order = table->Order({"main", "dr"}, "");
  Origin(*table, "main", 0).up = false;
  EXPECT_TRUE(table->Find("main")->Up());
  EXPECT_EQ(Pick(order), "main/10.0.0.2:8001");
  Origin(*table, "main", 1).up = false;
  EXPECT_FALSE(table->Find("main")->Up());
  EXPECT_EQ(Pick(order), "dr/10.0.0.1:8000");
}

TEST(FailoverTableTest, ARetrySkipsTheOriginsAlreadyTried) {
  auto table = FailoverTable::Build(
      {MakePool("main", 2, v1::STEERING_POLICY_FAILOVER), MakePool("dr", 1, {})}, nullptr);
  PoolOrder order = table->Order({"main", "dr"}, "");
  UpstreamRoute route;
  route.MarkTried(&Origin(*table, "main", 0));
  EXPECT_EQ(Pick(order, route), "main/10.0.0.2:8001");
  route.MarkTried(&Origin(*table, "main", 1));
  EXPECT_EQ(Pick(order, route), "dr/10.0.0.1:8000");
  route.MarkTried(&Origin(*table, "dr", 0));
  EXPECT_EQ(Pick(order, route), "none");
}

TEST(FailoverTableTest, DisabledOriginsTakeNoTraffic) {
  v1::Pool pool = MakePool("main", 2, v1::STEERING_POLICY_FAILOVER);
  pool.mutable_origins(0)->set_enabled(false);
  auto table = FailoverTable::Build({pool}, nullptr);
  EXPECT_EQ(Pick(table->Order({"main"}, "")), "main/10.0.0.2:8001");
}

TEST(FailoverTableTest, UnknownPoolIdsAreNamed) {
  auto table = FailoverTable::Build({MakePool("main", 1, {})}, nullptr);
  std::vector<std::string> missing;
  PoolOrder order = table->Order({"nope", "main"}, "gone", &missing);
  EXPECT_EQ(order.pools.size(), 1u);
  EXPECT_EQ(order.fallback, nullptr);
  EXPECT_EQ(missing, (std::vector<std::string>{"nope", "gone"}));
}

TEST(FailoverTableTest, ARebuildKeepsWhatWasLearnedOfAnOrigin) {
  auto first = FailoverTable::Build({MakePool("main", 2, {})}, nullptr);
  Origin(*first, "main", 0).up = false;
  Origin(*first, "main", 1).ewma_us = 1234;
  v1::Pool grown = MakePool("main", 3, {});
  auto second = FailoverTable::Build({grown}, first.get());
  EXPECT_EQ(&Origin(*second, "main", 0), &Origin(*first, "main", 0));
  EXPECT_FALSE(Origin(*second, "main", 0).up);
  EXPECT_EQ(Origin(*second, "main", 1).ewma_us, 1234);
  EXPECT_TRUE(Origin(*second, "main", 2).up);
}

TEST(FailoverTableTest, IPv6OriginsAreKeyedWithBrackets) {
  v1::Pool pool = MakePool("main", 1, {});
  pool.mutable_origins(0)->set_address("::1");
  auto table = FailoverTable::Build({pool}, nullptr);
  EXPECT_EQ(Origin(*table, "main", 0).key, "[::1]:8000");
  EXPECT_EQ(Origin(*table, "main", 0).upstream.host, "::1");
}

TEST(SteeringTest, WeightedRandomFollowsTheWeights) {
  v1::Pool pool = MakePool("main", 2, v1::STEERING_POLICY_WEIGHTED_RANDOM);
  pool.mutable_origins(0)->set_weight(3);
  pool.mutable_origins(1)->set_weight(1);
  auto table = FailoverTable::Build({pool}, nullptr);
  PoolOrder order = table->Order({"main"}, "");
  std::map<std::string, int> counts;
  for (uint64_t r = 0; r < 400; ++r) ++counts[Pick(order, {}, r * 2654435761ULL)];
  EXPECT_EQ(counts["main/10.0.0.1:8000"], 300);
  EXPECT_EQ(counts["main/10.0.0.2:8001"], 100);
  Origin(*table, "main", 0).up = false;
  EXPECT_EQ(Pick(order, {}, 0), "main/10.0.0.2:8001");
}

TEST(SteeringTest, LeastOutstandingPicksTheIdlestAndSpreadsTies) {
  auto table =
      FailoverTable::Build({MakePool("main", 3, v1::STEERING_POLICY_LEAST_OUTSTANDING)}, nullptr);
  PoolOrder order = table->Order({"main"}, "");
  Origin(*table, "main", 0).outstanding = 5;
  Origin(*table, "main", 1).outstanding = 2;
  Origin(*table, "main", 2).outstanding = 9;
  for (uint64_t r = 0; r < 10; ++r) EXPECT_EQ(Pick(order, {}, r), "main/10.0.0.2:8001");
  Origin(*table, "main", 1).outstanding = 5;
  std::map<std::string, int> counts;
  for (uint64_t r = 0; r < 30; ++r) ++counts[Pick(order, {}, r)];
  EXPECT_EQ(counts.size(), 2u);  // Origins 0 and 1 tie; both get a share.
}

TEST(SteeringTest, LeasesCountRequestsInFlight) {
  auto table = FailoverTable::Build({MakePool("main", 1, {})}, nullptr);
  OriginState& o = Origin(*table, "main", 0);
  {
    OriginLease a(&o);
    OriginLease b(&o);
    EXPECT_EQ(o.outstanding, 2);
    OriginLease c = std::move(a);
    EXPECT_EQ(o.outstanding, 2);
  }
  EXPECT_EQ(o.outstanding, 0);
}

TEST(SteeringTest, LowestLatencyFollowsTheAverage) {
  auto table =
      FailoverTable::Build({MakePool("main", 2, v1::STEERING_POLICY_LOWEST_LATENCY)}, nullptr);
  PoolOrder order = table->Order({"main"}, "");
  OriginState& a = Origin(*table, "main", 0);
  OriginState& b = Origin(*table, "main", 1);
  for (int i = 0; i < 20; ++i) {
    ObserveLatency(a, 5000);
    ObserveLatency(b, 1000);
  }
  EXPECT_EQ(Pick(order, {}, 0), "main/10.0.0.2:8001");
  EXPECT_EQ(Pick(order, {}, 1), "main/10.0.0.2:8001");
  // b slows down: the average follows within a few responses.
  for (int i = 0; i < 30; ++i) ObserveLatency(b, 20000);
  EXPECT_EQ(Pick(order, {}, 0), "main/10.0.0.1:8000");
}

}  // namespace
}  // namespace anteroom::agent
