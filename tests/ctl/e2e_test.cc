// anteroomctl, the real binary, against a real coordinator on free ports.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "anteroom/v1/admin.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"

namespace anteroom::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kToken[] = "e2e-admin-token";

template <typename M>
M ParseJson(const std::string& json) {
  M message;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return message;
}

// Starts the coordinator shards (one unless a subclass asks for more) and runs anteroomctl
// against them.
class CtlE2eTest : public ::testing::Test {
 protected:
  virtual int ShardCount() const { return 1; }

  void SetUp() override {
    dir_ = anteroom::testing::MakeTempDir("ctl-e2e");
    ASSERT_FALSE(dir_.empty());
    for (int shard = 0; shard < ShardCount(); ++shard) {
      std::string base = absl::StrCat(dir_, "/shard", shard);
      coordinators_.push_back(std::make_unique<anteroom::testing::ChildProcess>());
      ASSERT_TRUE(coordinators_.back()
                      ->Start(COORDINATOR_BIN,
                              {"--data-dir=" + base + "-data", "--listen=127.0.0.1:0",
                               "--admin-listen=127.0.0.1:0", "--ports-file=" + base + ".ports",
                               std::string("--admin-token=") + kToken, "--log-level=warn",
                               absl::StrCat("--shard-index=", shard),
                               absl::StrCat("--shard-count=", ShardCount())},
                              base + ".log")
                      .ok());
      auto ports = anteroom::testing::WaitForPortsFile(base + ".ports", {"grpc", "admin"},
                                                       std::chrono::seconds(30));
      ASSERT_TRUE(ports.ok()) << ports.status() << "\n" << Logs();
      shard_addresses_.push_back("127.0.0.1:" + (*ports)["grpc"]);
    }
    address_ = absl::StrJoin(shard_addresses_, ",");
  }

  void TearDown() override {
    for (auto& coordinator : coordinators_) {
      if (!coordinator->Running()) continue;
      auto stopped = coordinator->Stop(SIGTERM, std::chrono::seconds(10));
      EXPECT_TRUE(stopped.ok()) << stopped.status();
    }
    if (HasFailure()) std::cerr << "coordinator logs:\n" << Logs();
    anteroom::testing::RemoveTree(dir_);
  }

  std::string Logs() const {
    std::string logs;
    for (int shard = 0; shard < ShardCount(); ++shard) {
      std::ifstream in(absl::StrCat(dir_, "/shard", shard, ".log"));
      absl::StrAppend(&logs, "--- shard ", shard, "\n",
                      std::string(std::istreambuf_iterator<char>(in), {}));
    }
    return logs;
  }

  // Runs anteroomctl against `coordinator` (default: every shard); stdout and stderr together
  // unless `json`, when only stdout is captured so it parses.
  anteroom::testing::CommandResult Ctl(std::vector<std::string> args, bool json = false,
                                       const std::string& token = kToken,
                                       const std::string& coordinator = "") {
    args.insert(args.begin(), {"--coordinator=" + (coordinator.empty() ? address_ : coordinator),
                               "--token=" + token});
    if (json) args.insert(args.end(), {"-o", "json"});
    auto result = anteroom::testing::RunCommand(ANTEROOMCTL_BIN, args, /*merge_stderr=*/!json);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : anteroom::testing::CommandResult{};
  }

  std::string dir_;
  std::string address_;  // Every shard, comma-separated, by ordinal.
  std::vector<std::string> shard_addresses_;
  std::vector<std::unique_ptr<anteroom::testing::ChildProcess>> coordinators_;
};

TEST_F(CtlE2eTest, RoomLifecycle) {
  auto r = Ctl({"room", "create", "shop", "--total-active-users=100", "--new-users-per-minute=60",
                "--route=shop.example.com/checkout", "--session-duration=10m",
                "--bypass-cidr=10.0.0.0/8", "--bypass-path=/static/", "--cookie-secure",
                "--cookie-samesite=strict", "--event-start=2030-01-01T10:00:00Z"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("shop.example.com/checkout"));
  EXPECT_THAT(r.output, HasSubstr("version:"));

  // Table and JSON forms of get.
  r = Ctl({"room", "get", "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("total active users:"));
  EXPECT_THAT(r.output, HasSubstr("2030-01-01T10:00:00Z"));
  r = Ctl({"room", "get", "shop"}, /*json=*/true);
  ASSERT_EQ(r.exit_code, 0);
  v1::Room room = ParseJson<v1::Room>(r.output);
  EXPECT_EQ(room.id(), "shop");
  EXPECT_EQ(room.total_active_users(), 100);
  EXPECT_EQ(room.session_duration_seconds(), 600);
  EXPECT_EQ(room.bypass_size(), 2);
  EXPECT_EQ(room.cookie().same_site(), v1::SAME_SITE_STRICT);
  EXPECT_EQ(room.event().start_unix(), 1893492000);
  EXPECT_EQ(room.version(), 1);

  // List in both forms.
  ASSERT_EQ(Ctl({"room", "create", "cart", "--total-active-users=5", "--new-users-per-minute=5"})
                .exit_code,
            0);
  r = Ctl({"room", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, StartsWith("ID"));
  EXPECT_THAT(r.output, HasSubstr("cart"));
  EXPECT_THAT(r.output, HasSubstr("shop"));
  r = Ctl({"room", "list"}, /*json=*/true);
  auto list = ParseJson<v1::ListRoomsResponse>("{\"rooms\": " + r.output + "}");
  ASSERT_EQ(list.rooms_size(), 2);
  EXPECT_EQ(list.rooms(0).id(), "cart");
  EXPECT_EQ(list.rooms(1).id(), "shop");

  // Update changes only what is given.
  r = Ctl({"room", "update", "shop", "--suspended", "--new-users-per-minute=120"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  room = ParseJson<v1::Room>(r.output);
  EXPECT_TRUE(room.suspended());
  EXPECT_EQ(room.new_users_per_minute(), 120);
  EXPECT_EQ(room.total_active_users(), 100);
  EXPECT_EQ(room.bypass_size(), 2);
  EXPECT_EQ(room.routes(0).path_prefix(), "/checkout");
  EXPECT_EQ(room.version(), 2);

  // Status, table and JSON.
  r = Ctl({"room", "status", "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("phase:"));
  EXPECT_THAT(r.output, HasSubstr("suspended"));
  EXPECT_THAT(r.output, HasSubstr("admissions/min:"));
  r = Ctl({"room", "status", "shop"}, true);
  ASSERT_EQ(r.exit_code, 0);
  auto status = ParseJson<v1::RoomStatus>(r.output);
  EXPECT_EQ(status.id(), "shop");
  EXPECT_EQ(status.phase(), v1::ROOM_PHASE_SUSPENDED);

  // Delete, then it is gone.
  r = Ctl({"room", "delete", "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "room shop deleted\n");
  r = Ctl({"room", "get", "shop"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: NOT_FOUND: "));
}

TEST_F(CtlE2eTest, RoomFromYamlFile) {
  std::string path = dir_ + "/room.yaml";
  std::ofstream(path) << "total_active_users: 300\n"
                         "new_users_per_minute: 30\n"
                         "queueing_method: random\n"
                         "routes:\n"
                         "  - host: tickets.example.com\n"
                         "    path_prefix: /\n";
  auto r = Ctl({"room", "create", "tickets", "--from-file", path, "--queue-all"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  v1::Room room = ParseJson<v1::Room>(r.output);
  EXPECT_EQ(room.total_active_users(), 300);
  EXPECT_EQ(room.queueing_method(), v1::QUEUEING_METHOD_RANDOM);
  EXPECT_EQ(room.routes(0).host(), "tickets.example.com");
  EXPECT_TRUE(room.queue_all());
}

TEST_F(CtlE2eTest, PoolsAndHealth) {
  auto r = Ctl({"pool", "create", "eu", "--origin=127.0.0.1:18080,weight=2",
                "--origin=127.0.0.1:18081,disabled", "--monitor-path=/healthz", "--interval=2s",
                "--timeout=500ms", "--steering=weighted-random"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("127.0.0.1:18080"));

  r = Ctl({"pool", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("eu  127.0.0.1:18080,127.0.0.1:18081"));
  r = Ctl({"pool", "get", "eu"}, true);
  ASSERT_EQ(r.exit_code, 0);
  v1::Pool pool = ParseJson<v1::Pool>(r.output);
  EXPECT_EQ(pool.origins_size(), 2);
  EXPECT_EQ(pool.monitor().timeout_ms(), 500);
  EXPECT_EQ(pool.steering(), v1::STEERING_POLICY_WEIGHTED_RANDOM);

  r = Ctl({"pool", "update", "eu", "--minimum-healthy=2"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  pool = ParseJson<v1::Pool>(r.output);
  EXPECT_EQ(pool.minimum_healthy(), 2);
  EXPECT_EQ(pool.monitor().path(), "/healthz");
  EXPECT_EQ(pool.version(), 2);

  ASSERT_EQ(Ctl({"room", "create", "shop", "--total-active-users=10", "--new-users-per-minute=10",
                 "--pool=eu"})
                .exit_code,
            0);

  r = Ctl({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = Ctl({"health", "--pool", "eu"}, true);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, StartsWith("["));

  // The room still uses the pool.
  r = Ctl({"pool", "delete", "eu"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: FAILED_PRECONDITION: "));
  ASSERT_EQ(Ctl({"room", "delete", "shop"}).exit_code, 0);
  r = Ctl({"pool", "delete", "eu"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(CtlE2eTest, KeysAndBackup) {
  auto r = Ctl({"keys", "rotate"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("CURRENT KEY"));
  r = Ctl({"keys", "rotate"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto keys = ParseJson<v1::RotateKeysResponse>(r.output);
  EXPECT_FALSE(keys.current_key_id().empty());
  EXPECT_GE(keys.accepted_key_ids_size(), 1);

  r = Ctl({"backup"}, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto backup = ParseJson<v1::BackupResponse>(r.output);
  EXPECT_TRUE(std::filesystem::is_directory(backup.path())) << backup.path();
  EXPECT_GT(backup.created_unix(), 0);
  r = Ctl({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PATH"));
}

TEST_F(CtlE2eTest, WrongTokenIsUnauthenticated) {
  auto r = Ctl({"room", "list"}, /*json=*/false, "not-the-token");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: UNAUTHENTICATED: "));

  auto no_token =
      anteroom::testing::RunCommand(ANTEROOMCTL_BIN, {"--coordinator=" + address_, "room", "list"},
                                    true, {{"ANTEROOM_TOKEN", ""}});
  ASSERT_TRUE(no_token.ok());
  EXPECT_EQ(no_token->exit_code, 1);
  EXPECT_THAT(no_token->output, StartsWith("anteroomctl: UNAUTHENTICATED: "));

  // The token from the environment works.
  auto env_token = anteroom::testing::RunCommand(
      ANTEROOMCTL_BIN, {"room", "list"}, true,
      {{"ANTEROOM_TOKEN", kToken}, {"ANTEROOM_COORDINATOR", address_}});
  ASSERT_TRUE(env_token.ok());
  EXPECT_EQ(env_token->exit_code, 0) << env_token->output;
}

TEST_F(CtlE2eTest, BadValuesAreRejectedBeforeSending) {
  auto r = Ctl({"room", "create", "shop", "--total-active-users=abc", "--new-users-per-minute=1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output,
            "anteroomctl: --total-active-users: expected a positive integer, got 'abc'\n");

  r = Ctl({"room", "create", "shop", "--total-active-users=1", "--new-users-per-minute=1",
           "--bypass-cidr=10.0.0.0/99"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: --bypass-cidr: room.bypass[0].client_cidr: "));

  r = Ctl({"room", "create", "shop", "--bogus-flag"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: unknown flag --bogus-flag\n"));

  // Nothing reached the coordinator.
  r = Ctl({"room", "list"}, true);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "[]\n");
}

TEST_F(CtlE2eTest, ServerSideErrorsCarryTheirCode) {
  // Only the coordinator knows which pools exist.
  auto r = Ctl({"room", "create", "shop", "--total-active-users=1", "--new-users-per-minute=1",
                "--pool=nope"});
  EXPECT_EQ(r.exit_code, 1);
  // The coordinator's field error is traced back to the flag that set the field.
  EXPECT_THAT(r.output, StartsWith("anteroomctl: INVALID_ARGUMENT: --pool: room.pools[0]"));
  EXPECT_THAT(r.output, HasSubstr("nope"));

  r = Ctl({"room", "update", "missing", "--suspended"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: NOT_FOUND: "));

  ASSERT_EQ(Ctl({"room", "create", "shop", "--total-active-users=1", "--new-users-per-minute=1"})
                .exit_code,
            0);
  r = Ctl({"room", "create", "shop", "--total-active-users=1", "--new-users-per-minute=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, StartsWith("anteroomctl: ALREADY_EXISTS: "));
}

TEST_F(CtlE2eTest, UnreachableCoordinatorIsUnavailable) {
  auto r = anteroom::testing::RunCommand(
      ANTEROOMCTL_BIN, {"--coordinator=127.0.0.1:1", "--token=x", "--timeout=3s", "room", "list"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_THAT(r->output, StartsWith("anteroomctl: UNAVAILABLE: "));
}

class CtlShardedE2eTest : public CtlE2eTest {
 protected:
  int ShardCount() const override { return 2; }
};

TEST_F(CtlShardedE2eTest, RoomsGoToTheirOwnerAndPoolsToEveryShard) {
  // Rooms on both shards name the pool, so each shard must hold a copy.
  auto r = Ctl({"pool", "create", "eu", "--origin=127.0.0.1:18080"});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // A shard refuses a room it does not own, so every create succeeding means each went to
  // its owner.
  constexpr int kRooms = 8;
  for (int i = 0; i < kRooms; ++i) {
    r = Ctl({"room", "create", absl::StrCat("room-", i), "--total-active-users=10",
             "--new-users-per-minute=10", "--pool=eu"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = Ctl({"room", "update", absl::StrCat("room-", i), "--suspended"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(Ctl({"room", "status", absl::StrCat("room-", i)}).exit_code, 0);
  }
  r = Ctl({"room", "list"}, /*json=*/true);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(ParseJson<v1::ListRoomsResponse>("{\"rooms\": " + r.output + "}").rooms_size(), kRooms);

  // Asking one shard alone about every room: it answers for its own and names the owner of
  // the others.
  int answered = 0;
  int refused = 0;
  for (int i = 0; i < kRooms; ++i) {
    r = Ctl({"room", "get", absl::StrCat("room-", i)}, false, kToken, shard_addresses_[0]);
    if (r.exit_code == 0) {
      ++answered;
    } else {
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_THAT(r.output, StartsWith("anteroomctl: FAILED_PRECONDITION: "));
      EXPECT_THAT(r.output, HasSubstr("owned by shard 1"));
      ++refused;
    }
  }
  EXPECT_GT(answered, 0);
  EXPECT_GT(refused, 0);

  r = Ctl({"pool", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("eu  127.0.0.1:18080"));
  r = Ctl({"keys", "rotate"}, /*json=*/true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, StartsWith("["));
  r = Ctl({"backup"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\n1  "));
}

}  // namespace
}  // namespace anteroom::ctl
