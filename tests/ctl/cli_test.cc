#include "ctl/cli.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/ctl/fake_admin_api.h"

namespace anteroom::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct RunResult {
  int code;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  RunResult Run(const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    CliContext context{
        .out = out,
        .err = err,
        .env = [this](absl::string_view name) -> std::optional<std::string> {
          auto it = env_.find(std::string(name));
          if (it == env_.end()) return std::nullopt;
          return it->second;
        },
        .connect =
            [this](const ConnectionOptions& options) {
              options_ = options;
              return std::make_unique<fakes::FakeAdminApi>(state_);
            },
    };
    int code = RunCli(args, context);
    return {code, out.str(), err.str()};
  }

  void StoreRoom() {
    v1::Room room;
    room.set_id("shop");
    room.add_routes()->set_host("shop.example.com");
    room.set_total_active_users(100);
    room.set_new_users_per_minute(10);
    room.add_bypass()->set_path_prefix("/static/");
    room.set_version(7);
    state_->rooms["shop"] = room;
  }

  std::shared_ptr<fakes::FakeAdminState> state_ = std::make_shared<fakes::FakeAdminState>();
  std::map<std::string, std::string> env_;
  std::optional<ConnectionOptions> options_;
};

TEST_F(CliTest, HelpPrintsUsageAndExitsZero) {
  RunResult r = Run({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: anteroomctl COMMAND"));
  EXPECT_THAT(r.out, HasSubstr("--coordinator"));

  r = Run({"room", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--total-active-users"));
  EXPECT_THAT(r.out, HasSubstr("--bypass-cidr"));

  r = Run({"pool", "create", "-h"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--origin ADDR:PORT"));

  r = Run({"help", "health"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("anteroomctl health [--pool ID]"));
  EXPECT_EQ(state_->calls, 0);
}

TEST_F(CliTest, NoCommandIsAUsageError) {
  RunResult r = Run({});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("Usage: anteroomctl"));
}

TEST_F(CliTest, UnknownCommandsExitTwoWithUsage) {
  RunResult r = Run({"rooms", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: unknown command 'rooms'\n"));
  EXPECT_THAT(r.err, HasSubstr("Usage:"));

  r = Run({"room", "frob", "shop"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: unknown command 'room frob'\n"));
  EXPECT_THAT(r.err, HasSubstr("anteroomctl room create ID"));

  r = Run({"room"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: room: missing subcommand"));
}

TEST_F(CliTest, UnknownFlagsExitTwoWithUsage) {
  RunResult r = Run({"room", "get", "shop", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: unknown flag --bogus\n"));
  EXPECT_THAT(r.err, HasSubstr("Usage:"));

  // A room flag is not a flag of room get.
  r = Run({"room", "get", "shop", "--suspended"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: unknown flag --suspended\n"));
  EXPECT_EQ(state_->calls, 0);
}

TEST_F(CliTest, OperandCountIsChecked) {
  RunResult r = Run({"room", "get"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: room get: missing ID\n"));

  r = Run({"room", "list", "extra"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: room list: unexpected argument 'extra'\n"));
}

TEST_F(CliTest, CreateSendsTheRoomAndPrintsIt) {
  RunResult r = Run({"room", "create", "shop", "--total-active-users=100", "--new-users-per-minute",
                     "10", "--route=shop.example.com/checkout", "--session-duration=10m",
                     "--queueing-method=random"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(state_->rooms.count("shop"), 1u);
  const v1::Room& room = state_->rooms["shop"];
  EXPECT_EQ(room.total_active_users(), 100);
  EXPECT_EQ(room.new_users_per_minute(), 10);
  EXPECT_EQ(room.session_duration_seconds(), 600);
  EXPECT_EQ(room.queueing_method(), v1::QUEUEING_METHOD_RANDOM);
  ASSERT_EQ(room.routes_size(), 1);
  EXPECT_EQ(room.routes(0).path_prefix(), "/checkout");
  EXPECT_THAT(r.out, HasSubstr("shop.example.com/checkout"));
  EXPECT_THAT(r.out, HasSubstr("queueing method:"));
}

TEST_F(CliTest, CreateNeedsBothLimits) {
  RunResult r = Run({"room", "create", "shop", "--new-users-per-minute=10"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "anteroomctl: --total-active-users: required by room create\n");
  EXPECT_EQ(state_->calls, 0);
}

TEST_F(CliTest, BadValueExitsTwoNamingTheFlag) {
  RunResult r =
      Run({"room", "create", "shop", "--total-active-users=abc", "--new-users-per-minute=10"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "anteroomctl: --total-active-users: expected a positive integer, got 'abc'\n");
  EXPECT_EQ(state_->calls, 0);
}

TEST_F(CliTest, InvalidRoomIsRejectedBeforeAnyCall) {
  RunResult r = Run({"room", "create", "shop", "--total-active-users=1", "--new-users-per-minute=1",
                     "--bypass-cidr=300.1.1.1/8"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: --bypass-cidr: room.bypass[0].client_cidr: "));
  EXPECT_EQ(state_->calls, 0);

  r = Run({"room", "create", "Bad.Id", "--total-active-users=1", "--new-users-per-minute=1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: room.id: may contain only"));

  r = Run({"room", "get", "Bad.Id"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: room ID: may contain only"));
  EXPECT_EQ(state_->calls, 0);
}

TEST_F(CliTest, UpdateIsReadModifyWriteWithExpectedVersion) {
  StoreRoom();
  RunResult r = Run({"room", "update", "shop", "--suspended", "--total-active-users=200"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(state_->update_expected_versions, ElementsAre(7));
  const v1::Room& room = state_->rooms["shop"];
  EXPECT_TRUE(room.suspended());
  EXPECT_EQ(room.total_active_users(), 200);
  // Everything else kept.
  EXPECT_EQ(room.new_users_per_minute(), 10);
  EXPECT_EQ(room.routes(0).host(), "shop.example.com");
  EXPECT_EQ(room.bypass(0).path_prefix(), "/static/");
  EXPECT_EQ(room.version(), 8);
}

TEST_F(CliTest, UpdateRetriesWhenSomeoneElseWroteFirst) {
  StoreRoom();
  state_->abort_updates = 1;
  RunResult r = Run({"room", "update", "shop", "--queue-all"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(state_->update_expected_versions, ElementsAre(7, 8));
  EXPECT_TRUE(state_->rooms["shop"].queue_all());
}

TEST_F(CliTest, UpdateGivesUpAfterThreeConflicts) {
  StoreRoom();
  state_->abort_updates = 10;
  RunResult r = Run({"room", "update", "shop", "--queue-all"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "anteroomctl: ABORTED: version changed\n");
  EXPECT_EQ(state_->update_expected_versions.size(), 3u);
}

TEST_F(CliTest, UpdateChecksValuesBeforeReading) {
  StoreRoom();
  RunResult r = Run({"room", "update", "shop", "--event-start=next week"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: --event-start: expected an RFC 3339 time"));
  EXPECT_EQ(state_->calls, 0);

  r = Run({"room", "update", "shop"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no room flags given"));
}

TEST_F(CliTest, UpdateOfAMissingRoomIsNotFound) {
  RunResult r = Run({"room", "update", "nope", "--suspended"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "anteroomctl: NOT_FOUND: room 'nope' not found\n");
}

TEST_F(CliTest, ServerErrorsExitOneWithTheirCode) {
  state_->fail_with = absl::UnauthenticatedError("bad bearer token");
  RunResult r = Run({"room", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "anteroomctl: UNAUTHENTICATED: bad bearer token\n");
  EXPECT_EQ(r.out, "");

  state_->fail_with = absl::InvalidArgumentError("room.id: taken by a pool");
  r = Run({"backup"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "anteroomctl: INVALID_ARGUMENT: room.id: taken by a pool\n");
}

TEST_F(CliTest, JsonOutputIsTheProto) {
  StoreRoom();
  RunResult r = Run({"room", "get", "shop", "-o", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  v1::Room parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &parsed).ok()) << r.out;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, state_->rooms["shop"]));
  EXPECT_THAT(r.out, HasSubstr("\"total_active_users\": \"100\""));

  // Lists are JSON arrays; global flags may come first.
  state_->rooms["cart"] = state_->rooms["shop"];
  state_->rooms["cart"].set_id("cart");
  r = Run({"--output=json", "room", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  v1::ListRoomsResponse list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage("{\"rooms\": " + r.out + "}", &list).ok())
      << r.out;
  ASSERT_EQ(list.rooms_size(), 2);
  EXPECT_EQ(list.rooms(0).id(), "cart");
  EXPECT_EQ(list.rooms(1).id(), "shop");

  state_->rooms.clear();
  r = Run({"room", "list", "-ojson"});
  EXPECT_EQ(r.out, "[]\n");
}

TEST_F(CliTest, BadOutputFormat) {
  RunResult r = Run({"room", "list", "-o", "yaml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "anteroomctl: --output: expected one of table, json, got 'yaml'\n");
}

TEST_F(CliTest, ConnectionDefaults) {
  ASSERT_EQ(Run({"room", "list"}).code, 0);
  ASSERT_TRUE(options_.has_value());
  EXPECT_THAT(options_->addresses, ElementsAre("127.0.0.1:7400"));
  EXPECT_EQ(options_->token, "");
  EXPECT_EQ(options_->timeout, absl::Seconds(5));
}

TEST_F(CliTest, ConnectionFromEnvironment) {
  env_["ANTEROOM_COORDINATOR"] = "c0.anteroom:7400, c1.anteroom:7400";
  env_["ANTEROOM_TOKEN"] = "env-token";
  ASSERT_EQ(Run({"room", "list"}).code, 0);
  EXPECT_THAT(options_->addresses, ElementsAre("c0.anteroom:7400", "c1.anteroom:7400"));
  EXPECT_EQ(options_->token, "env-token");
}

TEST_F(CliTest, FlagsWinOverEnvironment) {
  env_["ANTEROOM_COORDINATOR"] = "c0.anteroom:7400";
  env_["ANTEROOM_TOKEN"] = "env-token";
  ASSERT_EQ(Run({"room", "list", "--coordinator=127.0.0.1:9000", "--token", "flag-token",
                 "--timeout=750ms"})
                .code,
            0);
  EXPECT_THAT(options_->addresses, ElementsAre("127.0.0.1:9000"));
  EXPECT_EQ(options_->token, "flag-token");
  EXPECT_EQ(options_->timeout, absl::Milliseconds(750));
}

TEST_F(CliTest, TokenFromFileIsTrimmed) {
  std::string path = ::testing::TempDir() + "/cli_test_token";
  std::ofstream(path) << "  file-token\n";
  ASSERT_EQ(Run({"room", "list", "--token-file", path}).code, 0);
  EXPECT_EQ(options_->token, "file-token");
  std::remove(path.c_str());

  RunResult r = Run({"room", "list", "--token-file=/nonexistent/token"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "anteroomctl: --token-file: cannot read '/nonexistent/token'\n");
}

TEST_F(CliTest, BadConnectionSettingsExitTwo) {
  RunResult r = Run({"room", "list", "--coordinator=localhost"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: --coordinator: expected HOST:PORT"));

  env_["ANTEROOM_COORDINATOR"] = "a:1,b";
  r = Run({"room", "list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: ANTEROOM_COORDINATOR: expected HOST:PORT"));

  r = Run({"room", "list", "--coordinator=a:1", "--timeout=0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: --timeout: expected a positive duration"));
  EXPECT_EQ(state_->calls, 0);
}

TEST_F(CliTest, PoolTimeoutIsTheProbesAndRpcTimeoutIsTheDeadline) {
  RunResult r = Run({"pool", "create", "eu", "--origin=10.0.0.1:80", "--origin=10.0.0.2:80",
                     "--timeout=500ms", "--rpc-timeout=2s", "--steering=least-outstanding"});
  ASSERT_EQ(r.code, 0) << r.err;
  const v1::Pool& pool = state_->pools["eu"];
  EXPECT_EQ(pool.monitor().timeout_ms(), 500);
  EXPECT_EQ(pool.origins_size(), 2);
  EXPECT_EQ(options_->timeout, absl::Seconds(2));
  EXPECT_THAT(r.out, HasSubstr("10.0.0.2:80"));
}

TEST_F(CliTest, PoolCommands) {
  RunResult r = Run({"pool", "create", "eu"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "anteroomctl: --origin: required by pool create (at least one)\n");

  ASSERT_EQ(Run({"pool", "create", "eu", "--origin=10.0.0.1:80"}).code, 0);
  r = Run({"pool", "update", "eu", "--origin=10.0.0.1:80", "--origin=10.0.0.3:80,weight=3",
           "--minimum-healthy=2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(state_->update_expected_versions, ElementsAre(1));
  EXPECT_EQ(state_->pools["eu"].origins(1).weight(), 3);

  r = Run({"pool", "update", "eu", "--minimum-healthy=5"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("anteroomctl: --minimum-healthy: pool.minimum_healthy"));

  r = Run({"pool", "list"});
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, StartsWith("ID  ORIGINS"));
  EXPECT_THAT(r.out, HasSubstr("eu  10.0.0.1:80,10.0.0.3:80"));

  ASSERT_EQ(Run({"pool", "get", "eu"}).code, 0);
  r = Run({"pool", "delete", "eu"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "pool eu deleted\n");
  EXPECT_TRUE(state_->pools.empty());
}

TEST_F(CliTest, HealthPassesThePool) {
  v1::OriginVerdict v;
  v.set_pool_id("eu");
  v.set_origin("10.0.0.1:80");
  v.set_healthy(true);
  v.set_agents_up(3);
  state_->verdicts.push_back(v);
  RunResult r = Run({"health", "--pool", "eu"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(state_->last_health_pool, "eu");
  EXPECT_THAT(r.out, HasSubstr("eu    10.0.0.1:80  up"));

  ASSERT_EQ(Run({"health"}).code, 0);
  EXPECT_EQ(state_->last_health_pool, "");
}

TEST_F(CliTest, StatusDeleteKeysAndBackup) {
  StoreRoom();
  state_->status.set_phase(v1::ROOM_PHASE_OPEN);
  state_->status.set_waiting(42);
  RunResult r = Run({"room", "status", "shop"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("phase:"));
  EXPECT_THAT(r.out, HasSubstr("open"));
  EXPECT_THAT(r.out, HasSubstr("42"));

  r = Run({"keys", "rotate"});
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("k2"));
  r = Run({"keys", "rotate", "-o", "json"});
  EXPECT_THAT(r.out, HasSubstr("\"current_key_id\": \"k2\""));

  r = Run({"backup"});
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("/data/backups/1"));

  r = Run({"room", "delete", "shop", "-o", "json"});
  ASSERT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("\"deleted\": true"));
  EXPECT_TRUE(state_->rooms.empty());
}

}  // namespace
}  // namespace anteroom::ctl
