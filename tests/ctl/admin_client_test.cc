#include "ctl/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "anteroom/v1/admin.grpc.pb.h"
#include "common/rendezvous_hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace anteroom::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One shard of a fake coordinator: checks the bearer token and marks its answers with its
// ordinal so the test sees which shard answered.
class FakeAdminService final : public v1::Admin::Service {
 public:
  FakeAdminService(int shard, std::string token) : shard_(shard), token_(std::move(token)) {}

  grpc::Status GetRoom(grpc::ServerContext* context, const v1::GetRoomRequest* request,
                       v1::Room* response) override {
    if (!Authorized(context)) return Unauthenticated();
    if (request->id() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "room 'missing' not found");
    }
    response->set_id(request->id());
    response->set_version(shard_);
    return grpc::Status::OK;
  }

  grpc::Status ListRooms(grpc::ServerContext* context, const v1::ListRoomsRequest*,
                         v1::ListRoomsResponse* response) override {
    if (!Authorized(context)) return Unauthenticated();
    response->add_rooms()->set_id(absl::StrCat("room-", shard_));
    response->add_rooms()->set_id("a-first");
    return grpc::Status::OK;
  }

  grpc::Status GetRoomStatus(grpc::ServerContext* context, const v1::GetRoomStatusRequest*,
                             v1::RoomStatus*) override {
    if (!Authorized(context)) return Unauthenticated();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return grpc::Status::OK;
  }

  grpc::Status GetOriginHealth(grpc::ServerContext* context,
                               const v1::GetOriginHealthRequest* request,
                               v1::OriginHealthResponse* response) override {
    if (!Authorized(context)) return Unauthenticated();
    last_health_pool_ = request->pool_id();
    v1::OriginVerdict* v = response->add_origins();
    v->set_pool_id("eu");
    v->set_origin("10.0.0.1:80");
    v->set_healthy(shard_ == 1);  // Shard 1 heard last.
    v->set_updated_ms(1000 + shard_);
    return grpc::Status::OK;
  }

  grpc::Status RotateKeys(grpc::ServerContext* context, const v1::RotateKeysRequest*,
                          v1::RotateKeysResponse* response) override {
    if (!Authorized(context)) return Unauthenticated();
    response->set_current_key_id(absl::StrCat("key-", shard_));
    return grpc::Status::OK;
  }

  grpc::Status CreatePool(grpc::ServerContext* context, const v1::CreatePoolRequest* request,
                          v1::Pool* response) override {
    if (!Authorized(context)) return Unauthenticated();
    const v1::Pool& pool = request->pool();
    if (pools_.count(pool.id())) return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "exists");
    *response = pools_[pool.id()] = pool;
    response->set_version(1);
    pools_[pool.id()].set_version(1);
    return grpc::Status::OK;
  }

  grpc::Status UpdatePool(grpc::ServerContext* context, const v1::UpdatePoolRequest* request,
                          v1::Pool* response) override {
    if (!Authorized(context)) return Unauthenticated();
    auto it = pools_.find(request->pool().id());
    if (it == pools_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such pool");
    if (request->expected_version() != 0 && request->expected_version() != it->second.version()) {
      return grpc::Status(grpc::StatusCode::ABORTED, "version");
    }
    int64_t version = it->second.version() + 1;
    it->second = request->pool();
    it->second.set_version(version);
    *response = it->second;
    return grpc::Status::OK;
  }

  grpc::Status DeletePool(grpc::ServerContext* context, const v1::DeletePoolRequest* request,
                          v1::DeleteResponse*) override {
    if (!Authorized(context)) return Unauthenticated();
    if (in_use_) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "in use");
    if (!pools_.erase(request->id())) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no");
    return grpc::Status::OK;
  }

  grpc::Status ListPools(grpc::ServerContext* context, const v1::ListPoolsRequest*,
                         v1::ListPoolsResponse* response) override {
    if (!Authorized(context)) return Unauthenticated();
    for (const auto& [id, pool] : pools_) *response->add_pools() = pool;
    return grpc::Status::OK;
  }

  std::string last_health_pool_ = "<none>";
  std::map<std::string, v1::Pool> pools_;
  bool in_use_ = false;

 private:
  bool Authorized(grpc::ServerContext* context) const {
    auto [begin, end] = context->client_metadata().equal_range("authorization");
    for (auto it = begin; it != end; ++it) {
      if (std::string(it->second.data(), it->second.size()) == "Bearer " + token_) return true;
    }
    return false;
  }
  static grpc::Status Unauthenticated() {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or wrong bearer token");
  }

  int shard_;
  std::string token_;
};

class AdminClientTest : public ::testing::Test {
 protected:
  // Starts `count` shards on free ports; shard `odd_token_shard` expects a different token.
  void StartShards(int count, int odd_token_shard = -1) {
    for (int shard = 0; shard < count; ++shard) {
      services_.push_back(
          std::make_unique<FakeAdminService>(shard, shard == odd_token_shard ? "other" : "secret"));
      grpc::ServerBuilder builder;
      int port = 0;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
      builder.RegisterService(services_.back().get());
      servers_.push_back(builder.BuildAndStart());
      ASSERT_NE(port, 0);
      addresses_.push_back(absl::StrCat("127.0.0.1:", port));
    }
  }

  void TearDown() override {
    for (auto& server : servers_) server->Shutdown(std::chrono::system_clock::now());
  }

  std::unique_ptr<AdminApi> Client(std::string token = "secret",
                                   absl::Duration timeout = absl::Seconds(5)) {
    return NewGrpcAdminClient({addresses_, std::move(token), timeout});
  }

  std::vector<std::unique_ptr<FakeAdminService>> services_;
  std::vector<std::unique_ptr<grpc::Server>> servers_;
  std::vector<std::string> addresses_;
};

TEST_F(AdminClientTest, SendsTheBearerToken) {
  StartShards(1);
  auto room = Client()->GetRoom("shop");
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_EQ(room->id(), "shop");

  for (const char* token : {"wrong", ""}) {
    auto denied = Client(token)->GetRoom("shop");
    EXPECT_EQ(denied.status().code(), absl::StatusCode::kUnauthenticated) << token;
    EXPECT_EQ(denied.status().message(), "missing or wrong bearer token");
  }
}

TEST_F(AdminClientTest, PassesServerErrorsThroughUnchanged) {
  StartShards(1);
  auto room = Client()->GetRoom("missing");
  EXPECT_EQ(room.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(room.status().message(), "room 'missing' not found");
}

TEST_F(AdminClientTest, RoutesEachRoomToItsOwnerShard) {
  StartShards(3);
  auto client = Client();
  std::set<int64_t> shards_seen;
  for (int i = 0; i < 30; ++i) {
    std::string id = absl::StrCat("room-", i);
    auto room = client->GetRoom(id);
    ASSERT_TRUE(room.ok()) << room.status();
    EXPECT_EQ(room->version(), common::OwnerShard(id, 3)) << id;
    shards_seen.insert(room->version());
  }
  EXPECT_EQ(shards_seen.size(), 3u);
}

TEST_F(AdminClientTest, ListMergesEveryShardSortedById) {
  StartShards(3);
  auto rooms = Client()->ListRooms();
  ASSERT_TRUE(rooms.ok()) << rooms.status();
  std::vector<std::string> ids;
  for (const auto& room : *rooms) ids.push_back(room.id());
  EXPECT_THAT(ids, ElementsAre("a-first", "room-0", "room-1", "room-2"));
}

TEST_F(AdminClientTest, AFailingShardIsNamed) {
  StartShards(2, /*odd_token_shard=*/1);
  auto rooms = Client()->ListRooms();
  EXPECT_EQ(rooms.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(rooms.status().message()),
              HasSubstr(absl::StrCat("shard 1 (", addresses_[1], "): missing or wrong")));
}

TEST_F(AdminClientTest, HealthKeepsTheFreshestVerdict) {
  StartShards(2);
  auto verdicts = Client()->GetOriginHealth("");
  ASSERT_TRUE(verdicts.ok()) << verdicts.status();
  ASSERT_EQ(verdicts->size(), 1u);
  EXPECT_TRUE((*verdicts)[0].healthy());
  EXPECT_EQ((*verdicts)[0].updated_ms(), 1001);

  ASSERT_TRUE(Client()->GetOriginHealth("eu").ok());
  EXPECT_EQ(services_[0]->last_health_pool_, "eu");
  EXPECT_EQ(services_[1]->last_health_pool_, "eu");
}

v1::Pool TestPool(const std::string& id, int port) {
  v1::Pool pool;
  pool.set_id(id);
  v1::Origin* origin = pool.add_origins();
  origin->set_address("10.0.0.1");
  origin->set_port(port);
  return pool;
}

TEST_F(AdminClientTest, PoolWritesReachEveryShard) {
  StartShards(3);
  auto client = Client();
  ASSERT_TRUE(client->CreatePool(TestPool("eu", 80)).ok());
  for (const auto& service : services_) ASSERT_EQ(service->pools_.count("eu"), 1u);

  // A shard that lost its copy gets it back on the next write.
  const int owner = common::OwnerShard("eu", 3);
  const int other = (owner + 1) % 3;
  services_[other]->pools_.clear();
  auto updated = client->UpdatePool(TestPool("eu", 81), /*expected_version=*/1);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->version(), 2);
  for (const auto& service : services_) EXPECT_EQ(service->pools_["eu"].origins(0).port(), 81);

  // The owner decides: a stale version is refused before any shard changes.
  auto stale = client->UpdatePool(TestPool("eu", 82), /*expected_version=*/1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  for (const auto& service : services_) EXPECT_EQ(service->pools_["eu"].origins(0).port(), 81);
  EXPECT_EQ(client->CreatePool(TestPool("eu", 80)).status().code(),
            absl::StatusCode::kAlreadyExists);

  auto pools = client->ListPools();
  ASSERT_TRUE(pools.ok());
  ASSERT_EQ(pools->size(), 1u);
  EXPECT_EQ((*pools)[0].version(), 2);  // The owner's copy.
}

TEST_F(AdminClientTest, PoolInUseOnAnyShardIsNotDeletedFromItsOwner) {
  StartShards(2);
  auto client = Client();
  ASSERT_TRUE(client->CreatePool(TestPool("eu", 80)).ok());
  const int owner = common::OwnerShard("eu", 2);
  services_[1 - owner]->in_use_ = true;
  absl::Status status = client->DeletePool("eu");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(services_[owner]->pools_.count("eu"), 1u);

  services_[1 - owner]->in_use_ = false;
  EXPECT_TRUE(client->DeletePool("eu").ok());
  for (const auto& service : services_) EXPECT_TRUE(service->pools_.empty());
  EXPECT_EQ(client->DeletePool("eu").code(), absl::StatusCode::kNotFound);
}

TEST_F(AdminClientTest, KeyRotationReachesEveryShardInOrder) {
  StartShards(2);
  auto responses = Client()->RotateKeys();
  ASSERT_TRUE(responses.ok()) << responses.status();
  ASSERT_EQ(responses->size(), 2u);
  EXPECT_EQ((*responses)[0].current_key_id(), "key-0");
  EXPECT_EQ((*responses)[1].current_key_id(), "key-1");
}

TEST_F(AdminClientTest, DeadlineApplies) {
  StartShards(1);
  auto status = Client("secret", absl::Milliseconds(50))->GetRoomStatus("shop");
  EXPECT_EQ(status.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(AdminClientTest, UnreachableCoordinatorIsUnavailable) {
  addresses_.push_back("127.0.0.1:1");
  auto rooms = Client()->ListRooms();
  EXPECT_EQ(rooms.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ParseCoordinatorListTest, AcceptsAddressesAndTargets) {
  EXPECT_THAT(*ParseCoordinatorList("--coordinator", "127.0.0.1:7400"),
              ElementsAre("127.0.0.1:7400"));
  EXPECT_THAT(*ParseCoordinatorList("--coordinator", "c-0.svc:7400, c-1.svc:7400"),
              ElementsAre("c-0.svc:7400", "c-1.svc:7400"));
  EXPECT_THAT(*ParseCoordinatorList("--coordinator", "[::1]:7400"), ElementsAre("[::1]:7400"));
  EXPECT_THAT(*ParseCoordinatorList("--coordinator", "dns:///anteroom:7400"),
              ElementsAre("dns:///anteroom:7400"));
}

TEST(ParseCoordinatorListTest, RejectsNonAddresses) {
  for (const char* bad : {"localhost", "host:", ":7400", "host:0", "host:99999", "a:1,", ""}) {
    auto parsed = ParseCoordinatorList("--coordinator", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr("--coordinator: expected HOST:PORT[,HOST:PORT...]"));
  }
}

}  // namespace
}  // namespace anteroom::ctl
