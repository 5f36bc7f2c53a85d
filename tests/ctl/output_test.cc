#include <sstream>
#include <string>
#include <vector>

#include "ctl/format.h"
#include "ctl/pool_output.h"
#include "ctl/room_output.h"
#include "ctl/table.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace anteroom::ctl {
namespace {

using ::testing::HasSubstr;

TEST(TableTest, AlignsColumnsAndSkipsTrailingPadding) {
  Table table({"ID", "TOTAL ACTIVE", "POOLS"});
  table.AddRow({"shop", "1000", "eu,us"});
  table.AddRow({"a-much-longer-id", "5", ""});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "ID                TOTAL ACTIVE  POOLS\n"
            "shop              1000          eu,us\n"
            "a-much-longer-id  5\n");
}

TEST(TableTest, WithoutHeaders) {
  Table table;
  table.AddRow({"id:", "shop"});
  table.AddRow({"total active users:", "1000"});
  std::ostringstream out;
  table.Render(out);
  EXPECT_EQ(out.str(),
            "id:                  shop\n"
            "total active users:  1000\n");
}

TEST(FormatTest, Values) {
  EXPECT_EQ(FormatSeconds(300), "5m");
  EXPECT_EQ(FormatSeconds(5400), "1h30m");
  EXPECT_EQ(FormatSeconds(0), "0");
  EXPECT_EQ(FormatUnixSeconds(0), "-");
  EXPECT_EQ(FormatUnixSeconds(1796119200), "2026-12-01T10:00:00Z");
  EXPECT_EQ(FormatUnixMillis(1796119200123), "2026-12-01T10:00:00.123Z");
  EXPECT_EQ(EnumWord("STEERING_POLICY_WEIGHTED_RANDOM", "STEERING_POLICY_"), "weighted-random");
  EXPECT_EQ(EnumWord("", "X_"), "unknown");
}

TEST(FormatTest, JsonArray) {
  std::vector<v1::Pool> pools(2);
  pools[0].set_id("a");
  pools[1].set_id("b");
  std::string json = ToJsonArray(pools);
  v1::ListPoolsResponse parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage("{\"pools\":" + json + "}", &parsed).ok());
  ASSERT_EQ(parsed.pools_size(), 2);
  EXPECT_EQ(parsed.pools(1).id(), "b");
  EXPECT_EQ(ToJsonArray(std::vector<v1::Pool>()), "[]");
}

TEST(RoomOutputTest, ShowsDefaultsAndEverySetting) {
  v1::Room room;
  room.set_id("shop");
  room.add_routes()->set_path_prefix("/checkout");
  room.set_total_active_users(1000);
  room.set_new_users_per_minute(60);
  room.add_bypass()->set_client_cidr("10.0.0.0/8");
  room.add_bypass()->mutable_header()->set_name("X-Test");
  room.mutable_event()->set_start_unix(1796119200);
  room.add_pools("eu");
  std::ostringstream out;
  PrintRoom(room, OutputFormat::kTable, out);
  std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("*/checkout"));
  EXPECT_THAT(text, HasSubstr("5m (default)"));
  EXPECT_THAT(text, HasSubstr("fifo"));
  EXPECT_THAT(text, HasSubstr("cidr 10.0.0.0/8, header X-Test="));
  EXPECT_THAT(text, HasSubstr("2026-12-01T10:00:00Z"));
  EXPECT_THAT(text, HasSubstr("closed (default)"));
  EXPECT_THAT(text, HasSubstr("lax (default)"));
}

TEST(RoomOutputTest, StatusShowsAgents) {
  v1::RoomStatus status;
  status.set_id("shop");
  status.set_phase(v1::ROOM_PHASE_EVENT);
  status.set_waiting(1500);
  status.set_active(990);
  status.set_total_active_users(1000);
  status.set_admissions_last_minute(58);
  status.set_new_users_per_minute(60);
  status.set_eta_back_of_queue_seconds(1560);
  status.set_coordinator_time_ms(1796119200000);
  v1::AgentView* agent = status.add_agents();
  agent->set_agent_id("agent-7f3a");
  agent->set_last_sync_ms(1796119199500);
  agent->set_budget_outstanding(4);
  agent->set_lease_expiry_ms(1796119201000);
  std::ostringstream out;
  PrintRoomStatus(status, OutputFormat::kTable, out);
  std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("phase:               event"));
  EXPECT_THAT(text, HasSubstr("990 / 1000"));
  EXPECT_THAT(text, HasSubstr("58 / 60"));
  EXPECT_THAT(text, HasSubstr("26m"));
  EXPECT_THAT(text, HasSubstr("AGENT       LAST SYNC AGO"));
  EXPECT_THAT(text, HasSubstr("agent-7f3a  0.5s"));
  EXPECT_THAT(text, HasSubstr("marker:              -\n"));

  status.mutable_marker()->set_admit_through_bucket(1796119100);
  status.mutable_marker()->set_fraction(0.25);
  std::ostringstream with_marker;
  PrintRoomStatus(status, OutputFormat::kTable, with_marker);
  EXPECT_THAT(with_marker.str(),
              HasSubstr("arrivals through 2026-12-01T09:58:20Z (+25% of that second)"));
  EXPECT_THAT(text, HasSubstr("1.0s"));
}

TEST(PoolOutputTest, ShowsOriginsAndJsonRoundTrips) {
  v1::Pool pool;
  pool.set_id("eu");
  v1::Origin* a = pool.add_origins();
  a->set_address("2001:db8::1");
  a->set_port(443);
  v1::Origin* b = pool.add_origins();
  b->set_address("10.0.0.2");
  b->set_port(80);
  b->set_enabled(false);
  b->set_weight(3);
  (*pool.mutable_monitor()->mutable_headers())["X-B"] = "2";
  (*pool.mutable_monitor()->mutable_headers())["X-A"] = "1";
  std::ostringstream out;
  PrintPool(pool, OutputFormat::kTable, out);
  std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("[2001:db8::1]:443"));
  EXPECT_THAT(text, HasSubstr("10.0.0.2:80        -     3       no"));
  EXPECT_THAT(text, HasSubstr("X-A=1, X-B=2"));
  EXPECT_THAT(text, HasSubstr("failover (default)"));

  std::ostringstream json;
  PrintPool(pool, OutputFormat::kJson, json);
  v1::Pool parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.str(), &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, pool));
}

}  // namespace
}  // namespace anteroom::ctl
