// The coordinator's gRPC services, served for real on a loopback port and called through the
// generated stubs.

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "common/rendezvous_hash.h"
#include "common/time_slots.h"
#include "coordinator/daemon.h"
#include "tests/coordinator/coordinator_harness.h"
#include "tests/testing/http_get.h"
#include "tests/testing/process.h"

namespace anteroom::coordinator {
namespace {

v1::Room ValidRoom(const std::string& id) {
  v1::Room room;
  room.set_id(id);
  room.set_total_active_users(100);
  room.set_new_users_per_minute(600);
  auto* route = room.add_routes();
  route->set_host("shop.example.com");
  route->set_path_prefix("/");
  return room;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.started()); }

  grpc::Status Create(const v1::Room& room, v1::Room* out = nullptr) {
    v1::CreateRoomRequest req;
    *req.mutable_room() = room;
    v1::Room tmp;
    return h_.admin().CreateRoom(h_.Authed().get(), req, out ? out : &tmp);
  }

  grpc::Status Sync(const v1::SyncRequest& req, v1::SyncResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return h_.sync().Sync(&ctx, req, resp);
  }

  int64_t Active(const std::string& room) {
    v1::GetRoomStatusRequest req;
    req.set_id(room);
    v1::RoomStatus status;
    EXPECT_TRUE(h_.admin().GetRoomStatus(h_.Authed().get(), req, &status).ok());
    return status.active();
  }

  CoordinatorHarness h_;
};

TEST_F(CoordinatorServiceTest, CreatesGetsListsUpdatesAndDeletesRooms) {
  v1::Room created;
  ASSERT_TRUE(Create(ValidRoom("shop"), &created).ok());
  EXPECT_EQ(created.version(), 1);
  EXPECT_GT(created.created_unix(), 0);

  v1::GetRoomRequest get;
  get.set_id("shop");
  v1::Room got;
  ASSERT_TRUE(h_.admin().GetRoom(h_.Authed().get(), get, &got).ok());
  EXPECT_EQ(got.total_active_users(), 100);

  v1::UpdateRoomRequest update;
  *update.mutable_room() = got;
  update.mutable_room()->set_total_active_users(5);
  update.set_expected_version(1);
  v1::Room updated;
  ASSERT_TRUE(h_.admin().UpdateRoom(h_.Authed().get(), update, &updated).ok());
  EXPECT_EQ(updated.version(), 2);
  EXPECT_EQ(updated.total_active_users(), 5);
  // A stale expected_version loses.
  grpc::Status stale = h_.admin().UpdateRoom(h_.Authed().get(), update, &updated);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);

  v1::ListRoomsResponse list;
  ASSERT_TRUE(h_.admin().ListRooms(h_.Authed().get(), {}, &list).ok());
  ASSERT_EQ(list.rooms_size(), 1);

  EXPECT_EQ(Create(ValidRoom("shop")).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::DeleteRoomRequest del;
  del.set_id("shop");
  v1::DeleteResponse deleted;
  ASSERT_TRUE(h_.admin().DeleteRoom(h_.Authed().get(), del, &deleted).ok());
  EXPECT_EQ(h_.admin().GetRoom(h_.Authed().get(), get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(h_.admin().DeleteRoom(h_.Authed().get(), del, &deleted).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, AdminNeedsTheBearerToken) {
  v1::ListRoomsResponse list;
  grpc::Status missing = h_.admin().ListRooms(h_.Authed("").get(), {}, &list);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(missing.error_message().find("missing"), std::string::npos);
  grpc::Status wrong = h_.admin().ListRooms(h_.Authed("nope").get(), {}, &list);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(wrong.error_message().find("invalid"), std::string::npos);
}

TEST_F(CoordinatorServiceTest, BadRoomsAreRejectedNamingTheField) {
  struct Case {
    std::function<void(v1::Room&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::Room& r) { r.set_total_active_users(0); }, "room.total_active_users"},
      {[](v1::Room& r) { r.set_new_users_per_minute(-5); }, "room.new_users_per_minute"},
      {[](v1::Room& r) { r.set_session_duration_seconds(-1); }, "room.session_duration_seconds"},
      {[](v1::Room& r) { r.set_refresh_interval_seconds(-20); }, "room.refresh_interval_seconds"},
      {[](v1::Room& r) { r.set_queueing_status_code(418); }, "room.queueing_status_code"},
      {[](v1::Room& r) { r.set_id(std::string(65, 'a')); }, "room.id"},
      {[](v1::Room& r) { r.set_id("Bad Id"); }, "room.id"},
      {[](v1::Room& r) { r.mutable_page()->set_custom_html(std::string(300 * 1024, 'x')); },
       "room.page.custom_html"},
      {[](v1::Room& r) { r.mutable_routes(0)->set_path_prefix("no-slash"); },
       "room.routes[0].path_prefix"},
      {[](v1::Room& r) { r.add_bypass()->set_client_cidr("10.0.0.0/99"); },
       "room.bypass[0].client_cidr"},
      {[](v1::Room& r) {
         r.mutable_event()->set_start_unix(100);
         r.mutable_event()->set_end_unix(50);
       },
       "room.event.end_unix"},
      {[](v1::Room& r) { r.add_pools("missing-pool"); }, "room.pools[0]"},
      {[](v1::Room& r) { r.mutable_page()->set_custom_html("<p>{{postion}}</p>"); },
       "room.page.custom_html"},
      {[](v1::Room& r) { r.mutable_page()->set_custom_html("<p>no placeholder</p>"); },
       "room.page.custom_html"},
  };
  for (const Case& c : cases) {
    v1::Room room = ValidRoom("bad");
    c.mutate(room);
    grpc::Status s = Create(room);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(s.error_message().rfind(c.field, 0), 0u) << s.error_message();
  }
  v1::ListRoomsResponse list;
  ASSERT_TRUE(h_.admin().ListRooms(h_.Authed().get(), {}, &list).ok());
  EXPECT_EQ(list.rooms_size(), 0) << "a rejected room must leave nothing behind";
}

TEST_F(CoordinatorServiceTest, PoolsAreCheckedAndGuardedWhileInUse) {
  v1::CreatePoolRequest bad;
  bad.mutable_pool()->set_id("p");
  v1::Pool pool;
  grpc::Status s = h_.admin().CreatePool(h_.Authed().get(), bad, &pool);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("pool.origins", 0), 0u);

  v1::CreatePoolRequest good;
  good.mutable_pool()->set_id("p");
  auto* origin = good.mutable_pool()->add_origins();
  origin->set_address("127.0.0.1");
  origin->set_port(8080);
  ASSERT_TRUE(h_.admin().CreatePool(h_.Authed().get(), good, &pool).ok());
  v1::Room room = ValidRoom("uses-pool");
  room.add_pools("p");
  ASSERT_TRUE(Create(room).ok());
  v1::DeletePoolRequest del;
  del.set_id("p");
  v1::DeleteResponse out;
  s = h_.admin().DeletePool(h_.Authed().get(), del, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("uses-pool"), std::string::npos);
}

TEST_F(CoordinatorServiceTest, SyncGrantsBudgetAndDeliversConfigAndKeys) {
  ASSERT_TRUE(Create(ValidRoom("shop")).ok());
  v1::SyncRequest req;
  req.set_agent_id("agent-1");
  req.set_seq(1);
  auto* r = req.add_rooms();
  r->set_room_id("shop");
  r->set_direct_arrivals(3);
  v1::SyncResponse resp;
  ASSERT_TRUE(Sync(req, &resp).ok());
  EXPECT_TRUE(resp.config_changed());
  EXPECT_EQ(resp.room_configs_size(), 1);
  EXPECT_TRUE(resp.keys_changed());
  ASSERT_GE(resp.keys_size(), 1);
  EXPECT_EQ(resp.keys(0).secret().size(), 32u);
  ASSERT_EQ(resp.rooms_size(), 1);
  EXPECT_EQ(resp.rooms(0).budget(), 6);
  EXPECT_NEAR(resp.coordinator_time_ms(), NowMs(), 5000);
  EXPECT_EQ(resp.sync_interval_ms(), 500);

  // With current generations, the reply carries no config.
  req.set_seq(2);
  req.set_config_generation(resp.config_generation());
  req.set_keys_generation(resp.keys_generation());
  req.mutable_rooms(0)->set_budget_unspent(6);
  v1::SyncResponse second;
  ASSERT_TRUE(Sync(req, &second).ok());
  EXPECT_FALSE(second.config_changed());
  EXPECT_FALSE(second.keys_changed());
}

TEST_F(CoordinatorServiceTest, RetriedSyncIsAnsweredButNotAppliedTwice) {
  ASSERT_TRUE(Create(ValidRoom("shop")).ok());
  v1::SyncRequest req;
  req.set_agent_id("agent-1");
  req.set_seq(7);
  auto* r = req.add_rooms();
  r->set_room_id("shop");
  auto* d = r->add_session_deltas();
  d->set_slot(common::SlotCeilMs(NowMs() + 600'000));
  d->set_delta(3);
  r->set_budget_wanted(2);
  v1::SyncResponse first, retry;
  ASSERT_TRUE(Sync(req, &first).ok());
  ASSERT_TRUE(Sync(req, &retry).ok());
  // The retry is answered with the same grant (the lease still holds it), not a new one.
  EXPECT_EQ(retry.seq(), 7u);
  ASSERT_EQ(retry.rooms_size(), 1);
  EXPECT_EQ(retry.rooms(0).budget(), first.rooms(0).budget());
  EXPECT_EQ(retry.rooms(0).lease_expiry_ms(), first.rooms(0).lease_expiry_ms());
  EXPECT_EQ(Active("shop"), 3);

  req.set_seq(6);
  grpc::Status old = Sync(req, &retry);
  EXPECT_EQ(old.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Active("shop"), 3);
}

TEST_F(CoordinatorServiceTest, BadSyncRequestsAreRejectedNamingTheField) {
  ASSERT_TRUE(Create(ValidRoom("shop")).ok());
  v1::SyncRequest base;
  base.set_agent_id("agent-1");
  base.set_seq(1);
  base.add_rooms()->set_room_id("shop");
  v1::SyncResponse resp;
  ASSERT_TRUE(Sync(base, &resp).ok());
  const int64_t gen = resp.config_generation();

  struct Case {
    std::function<void(v1::SyncRequest&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](v1::SyncRequest& r) { r.set_agent_id(""); }, "agent_id"},
      {[](v1::SyncRequest& r) { r.set_seq(0); }, "seq"},
      {[](v1::SyncRequest& r) {
         auto* a = r.mutable_rooms(0)->add_arrivals();
         a->set_bucket(NowMs() / 1000);
         a->set_count(-1);
       },
       "rooms[0].arrivals[0].count"},
      {[](v1::SyncRequest& r) {
         auto* d = r.mutable_rooms(0)->add_session_deltas();
         // Ends in 3 whatever the time: never a multiple of the 10 s slot.
         d->set_slot(NowMs() / 10'000 * 10 + 603);
         d->set_delta(1);
       },
       "rooms[0].session_deltas[0].slot"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->set_budget_unspent(-4); },
       "rooms[0].budget_unspent"},
      {[](v1::SyncRequest& r) {
         auto* room = r.mutable_rooms(0);
         room->set_budget_wanted(2);
         for (int64_t b : {NowMs() / 1000 - 5, NowMs() / 1000 - 9}) {
           auto* w = room->add_wanted_buckets();
           w->set_bucket(b);
           w->set_count(1);
         }
       },
       "rooms[0].wanted_buckets[1].bucket"},
      {[](v1::SyncRequest& r) {
         auto* room = r.mutable_rooms(0);
         room->set_budget_wanted(5);
         auto* w = room->add_wanted_buckets();
         w->set_bucket(NowMs() / 1000 - 5);
         w->set_count(2);
       },
       "rooms[0].wanted_buckets"},
      {[](v1::SyncRequest& r) {
         auto* w = r.mutable_rooms(0)->add_wanted_buckets();
         w->set_bucket(NowMs() / 1000 - 5);
         w->set_count(0);
       },
       "rooms[0].wanted_buckets[0].count"},
      {[gen](v1::SyncRequest& r) {
         r.set_config_generation(gen);
         r.add_rooms()->set_room_id("ghost");
       },
       "rooms[1].room_id"},
      {[](v1::SyncRequest& r) { r.add_rooms()->set_room_id("shop"); }, "rooms[1].room_id"},
  };
  uint64_t seq = 2;
  for (const Case& c : cases) {
    v1::SyncRequest req = base;
    req.set_seq(seq++);
    c.mutate(req);
    grpc::Status s = Sync(req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_EQ(s.error_message().rfind(c.field, 0), 0u) << s.error_message();
  }
}

TEST(CoordinatorShardTest, RoomsOfAnotherShardAreRefusedNamingTheOwner) {
  CoordinatorHarness shard0(0, 2);
  ASSERT_TRUE(shard0.started());
  std::string foreign;
  for (int i = 0; foreign.empty(); ++i) {
    std::string id = "room-" + std::to_string(i);
    if (common::OwnerShard(id, 2) == 1) foreign = id;
  }
  v1::CreateRoomRequest req;
  *req.mutable_room() = ValidRoom(foreign);
  v1::Room out;
  grpc::Status s = shard0.admin().CreateRoom(shard0.Authed().get(), req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("owned by shard 1"), std::string::npos);

  v1::GetRoomRequest get;
  get.set_id(foreign);
  s = shard0.admin().GetRoom(shard0.Authed().get(), get, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("owned by shard 1"), std::string::npos);

  v1::GetRoomStatusRequest status_req;
  status_req.set_id(foreign);
  v1::RoomStatus status;
  s = shard0.admin().GetRoomStatus(shard0.Authed().get(), status_req, &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  v1::DeleteRoomRequest del;
  del.set_id(foreign);
  v1::DeleteResponse deleted;
  s = shard0.admin().DeleteRoom(shard0.Authed().get(), del, &deleted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

  // An agent that reports a room to the wrong shard is told which shard owns it.
  v1::SyncRequest sync;
  sync.set_agent_id("agent-1");
  sync.set_seq(1);
  sync.add_rooms()->set_room_id(foreign);
  v1::SyncResponse reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  s = shard0.sync().Sync(&ctx, sync, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("owned by shard 1"), std::string::npos) << s.error_message();
}

// Writes `text` into a new file in `dir` and returns its path.
std::string WriteTokenFile(const std::string& dir, const std::string& name,
                           const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}

grpc::Status SyncWithToken(CoordinatorHarness& h, const std::string& token, uint64_t seq) {
  v1::SyncRequest req;
  req.set_agent_id("agent-1");
  req.set_seq(seq);
  v1::SyncResponse resp;
  return h.sync().Sync(h.Authed(token).get(), req, &resp);
}

TEST(CoordinatorTokenTest, SyncNeedsTheSyncTokenWhenOneIsSet) {
  const std::string dir = testing::MakeTempDir("anteroom-tokens");
  const std::string file = WriteTokenFile(dir, "sync-token", "agents-secret\n");
  CoordinatorHarness h(0, 1, [&](v1::CoordinatorConfig& c) { c.set_sync_token_file(file); });
  ASSERT_TRUE(h.started());

  grpc::Status s = SyncWithToken(h, "", 5);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(s.error_message().find("missing"), std::string::npos) << s.error_message();
  s = SyncWithToken(h, "wrong", 5);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // The Admin token is not a Sync token.
  s = SyncWithToken(h, CoordinatorHarness::kToken, 5);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  // Refused calls were not applied: had seq 5 been, seq 1 would now be too old.
  s = SyncWithToken(h, "agents-secret", 1);
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = SyncWithToken(h, "agents-secret", 2);
  EXPECT_TRUE(s.ok()) << s.error_message();
  testing::RemoveTree(dir);
}

TEST(CoordinatorTokenTest, WithoutASyncTokenSyncIsOpen) {
  CoordinatorHarness h;
  ASSERT_TRUE(h.started());
  EXPECT_TRUE(SyncWithToken(h, "", 1).ok());
}

TEST(CoordinatorTokenTest, AdminTokenComesFromItsFile) {
  const std::string dir = testing::MakeTempDir("anteroom-tokens");
  const std::string file = WriteTokenFile(dir, "admin-token", "  from-file\n");
  CoordinatorHarness h(0, 1, [&](v1::CoordinatorConfig& c) {
    c.clear_admin_token();
    c.set_admin_token_file(file);
  });
  ASSERT_TRUE(h.started());
  v1::ListRoomsRequest req;
  v1::ListRoomsResponse resp;
  EXPECT_EQ(h.admin().ListRooms(h.Authed().get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(h.admin().ListRooms(h.Authed("from-file").get(), req, &resp).ok());
  testing::RemoveTree(dir);
}

TEST(CoordinatorTokenTest, WithoutAnAdminTokenOneIsGeneratedBesideTheData) {
  CoordinatorHarness h(0, 1, [](v1::CoordinatorConfig& c) { c.clear_admin_token(); });
  ASSERT_TRUE(h.started());
  const std::string path = h.data_dir() + "/admin-token";
  std::ifstream in(path);
  std::string token;
  ASSERT_TRUE(std::getline(in, token)) << path;
  EXPECT_EQ(token.size(), 48u);  // 24 random bytes in hex.
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  v1::ListRoomsRequest req;
  v1::ListRoomsResponse resp;
  EXPECT_EQ(h.admin().ListRooms(h.Authed().get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(h.admin().ListRooms(h.Authed(token).get(), req, &resp).ok());
}

TEST(CoordinatorTokenTest, AnUnreadableTokenFileStopsTheStartNamingTheFlag) {
  v1::CoordinatorConfig config;
  const std::string dir = testing::MakeTempDir("anteroom-tokens");
  config.set_data_dir(dir);
  config.set_listen("127.0.0.1:0");
  config.set_admin_listen("127.0.0.1:0");
  config.set_admin_token("x");
  config.set_sync_token_file(dir + "/absent");
  ASSERT_TRUE(ResolveConfig(config).ok());
  std::atomic<bool> stop{true};
  absl::Status s = RunCoordinator(config, stop);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("--sync-token-file"), std::string::npos) << s;
  testing::RemoveTree(dir);
}

TEST_F(CoordinatorServiceTest, ServesServerReflection) {
  grpc::GenericStub generic(h_.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  ASSERT_NE(call, nullptr);
  // Each step must complete, in order, with ok = true.
  auto step = [&cq](intptr_t want) {
    void* tag = nullptr;
    bool ok = false;
    return cq.Next(&tag, &ok) && tag == reinterpret_cast<void*>(want) && ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  // ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
  grpc::Slice list_services(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&list_services, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(step(5));
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  for (const char* service :
       {"anteroom.v1.Coordinator", "anteroom.v1.Admin", "grpc.health.v1.Health"}) {
    EXPECT_NE(bytes.find(service), std::string::npos) << service << " not listed";
  }
}

TEST_F(CoordinatorServiceTest, ServesTheStandardHealthService) {
  grpc::GenericStub generic(h_.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&](grpc::Status s) { done.set_value(s); });
  ASSERT_TRUE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2)) << "status SERVING";
}

TEST_F(CoordinatorServiceTest, AdminPortServesHealthReadinessAndMetrics) {
  ASSERT_TRUE(Create(ValidRoom("shop")).ok());
  v1::SyncRequest req;
  req.set_agent_id("agent-1");
  req.set_seq(1);
  req.add_rooms()->set_room_id("shop");
  v1::SyncResponse resp;
  ASSERT_TRUE(Sync(req, &resp).ok());

  auto healthz = testing::HttpGet(h_.admin_port(), "/healthz");
  ASSERT_TRUE(healthz.ok());
  EXPECT_EQ(healthz->status, 200);
  auto readyz = testing::HttpGet(h_.admin_port(), "/readyz");
  ASSERT_TRUE(readyz.ok());
  EXPECT_EQ(readyz->status, 200);
  // Room gauges are refreshed once a second.
  std::string metrics;
  for (int i = 0; i < 40; ++i) {
    auto m = testing::HttpGet(h_.admin_port(), "/metrics");
    ASSERT_TRUE(m.ok());
    metrics = m->body;
    if (metrics.find("anteroom_room_waiting_users{room=\"shop\"}") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (const char* series :
       {"anteroom_build_info{", "anteroom_sync_latency_seconds_count 1",
        "anteroom_storage_write_seconds_bucket{", "anteroom_storage_synced_commits_total{",
        "anteroom_room_waiting_users{room=\"shop\"}", "anteroom_room_active_users{room=\"shop\"}",
        "anteroom_room_budget_outstanding{room=\"shop\"}",
        "anteroom_room_admissions_total{room=\"shop\"}"}) {
    EXPECT_NE(metrics.find(series), std::string::npos) << series << " missing from\n" << metrics;
  }

  // A deleted room's series go away with it.
  v1::DeleteRoomRequest del;
  del.set_id("shop");
  v1::DeleteResponse deleted;
  ASSERT_TRUE(h_.admin().DeleteRoom(h_.Authed().get(), del, &deleted).ok());
  for (int i = 0; i < 40; ++i) {
    auto m = testing::HttpGet(h_.admin_port(), "/metrics");
    ASSERT_TRUE(m.ok());
    metrics = m->body;
    if (metrics.find("room=\"shop\"") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(metrics.find("room=\"shop\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("anteroom_sync_latency_seconds_count 1"), std::string::npos);
}

TEST_F(CoordinatorServiceTest, RotatesKeysKeepingThePreviousOne) {
  v1::RotateKeysResponse rotated;
  ASSERT_TRUE(h_.admin().RotateKeys(h_.Authed().get(), {}, &rotated).ok());
  EXPECT_EQ(rotated.accepted_key_ids_size(), 2);
  EXPECT_FALSE(rotated.current_key_id().empty());
}

TEST_F(CoordinatorServiceTest, BacksUpIntoACheckpoint) {
  ASSERT_TRUE(Create(ValidRoom("shop")).ok());
  v1::BackupResponse backup;
  ASSERT_TRUE(h_.admin().Backup(h_.Authed().get(), {}, &backup).ok());
  EXPECT_EQ(backup.path().rfind(h_.data_dir(), 0), 0u);
  EXPECT_TRUE(std::filesystem::exists(backup.path() + "/CURRENT"));
}

}  // namespace
}  // namespace anteroom::coordinator
