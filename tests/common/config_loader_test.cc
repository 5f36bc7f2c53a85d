#include "common/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "anteroom/v1/config.pb.h"
#include "anteroom/v1/room.pb.h"

namespace anteroom::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

class ConfigLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "config_loader_test_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST_F(ConfigLoaderTest, NothingSetGivesProtoDefaults) {
  v1::CoordinatorConfig config;
  config.set_data_dir("stale");
  ASSERT_TRUE(LoadDaemonConfig({}, {}, &config).ok());
  EXPECT_EQ(config.ByteSizeLong(), 0u);
}

TEST_F(ConfigLoaderTest, ReadsFileNamedByEitherFlagFormOrEnvironment) {
  std::string path = WriteFile("c.yaml", "data_dir: /var/lib/anteroom\nshard_count: 3\n");
  for (const auto& [args, env] : std::vector<std::pair<Args, Env>>{
           {{"--config=" + path}, {}},
           {{"--config", path}, {}},
           {{}, {{"ANTEROOM_CONFIG", path}}},
       }) {
    v1::CoordinatorConfig config;
    absl::Status status = LoadDaemonConfig(args, env, &config);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(config.data_dir(), "/var/lib/anteroom");
    EXPECT_EQ(config.shard_count(), 3);
  }
}

TEST_F(ConfigLoaderTest, FlagsWinOverEnvironmentWhichWinsOverFile) {
  std::string path = WriteFile("c.yaml", R"(
data_dir: from-file
listen: file:1
shard_index: 1
durability: async
)");
  Env env = {{"ANTEROOM_CONFIG", path},
             {"ANTEROOM_LISTEN", "env:2"},
             {"ANTEROOM_SHARD_INDEX", "2"},
             {"ANTEROOM_LOG_LEVEL", "debug"}};
  Args args = {"--shard-index=3", "--log-level", "warn", "--lease-ticks", "8"};
  v1::CoordinatorConfig config;
  absl::Status status = LoadDaemonConfig(args, env, &config);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.data_dir(), "from-file");  // Only the file sets it.
  EXPECT_EQ(config.durability(), "async");
  EXPECT_EQ(config.listen(), "env:2");    // Environment over file.
  EXPECT_EQ(config.shard_index(), 3);     // Flag over environment over file.
  EXPECT_EQ(config.log_level(), "warn");  // Flag over environment.
  EXPECT_EQ(config.lease_ticks(), 8);     // Flag alone.
}

TEST_F(ConfigLoaderTest, ConfigFlagWinsOverConfigVariable) {
  std::string a = WriteFile("a.yaml", "data_dir: a\n");
  std::string b = WriteFile("b.yaml", "data_dir: b\n");
  v1::CoordinatorConfig config;
  ASSERT_TRUE(LoadDaemonConfig({"--config", b}, {{"ANTEROOM_CONFIG", a}}, &config).ok());
  EXPECT_EQ(config.data_dir(), "b");
}

TEST_F(ConfigLoaderTest, BoolFlagAloneMeansTrue) {
  struct Case {
    Args args;
    Env env;
    bool want;
  };
  for (const Case& c : {
           Case{{"--print-config"}, {}, true},
           Case{{"--print-config=true"}, {}, true},
           Case{{"--print-config=false"}, {{"ANTEROOM_PRINT_CONFIG", "true"}}, false},
           Case{{}, {{"ANTEROOM_PRINT_CONFIG", "true"}}, true},
           Case{{"--print_config"}, {}, true},
           Case{{"--print-config", "--data-dir=x"}, {}, true},
       }) {
    v1::CoordinatorConfig config;
    absl::Status status = LoadDaemonConfig(c.args, c.env, &config);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(config.print_config(), c.want) << ::testing::PrintToString(c.args);
  }
}

TEST_F(ConfigLoaderTest, RepeatedFieldsTakeCommaSeparatedLists) {
  std::string path = WriteFile("a.yaml", "coordinators: [file-a, file-b]\n");
  v1::AgentConfig config;
  ASSERT_TRUE(LoadDaemonConfig({"--config", path}, {}, &config).ok());
  EXPECT_THAT(config.coordinators(), ElementsAre("file-a", "file-b"));

  ASSERT_TRUE(
      LoadDaemonConfig({"--config", path}, {{"ANTEROOM_COORDINATORS", "s0:7400, s1:7400"}}, &config)
          .ok());
  EXPECT_THAT(config.coordinators(), ElementsAre("s0:7400", "s1:7400"));

  ASSERT_TRUE(LoadDaemonConfig({"--config", path, "--coordinators=x:1"},
                               {{"ANTEROOM_COORDINATORS", "s0:7400"}}, &config)
                  .ok());
  EXPECT_THAT(config.coordinators(), ElementsAre("x:1"));

  ASSERT_TRUE(LoadDaemonConfig({"--config", path, "--coordinators="}, {}, &config).ok());
  EXPECT_THAT(config.coordinators(), ElementsAre());
}

TEST_F(ConfigLoaderTest, LastFlagWinsAndNegativeNumbersAreValues) {
  v1::CoordinatorConfig config;
  ASSERT_TRUE(
      LoadDaemonConfig({"--shard-index", "-1", "--data-dir=a", "--data-dir=b"}, {}, &config).ok());
  EXPECT_EQ(config.shard_index(), -1);
  EXPECT_EQ(config.data_dir(), "b");
}

TEST_F(ConfigLoaderTest, EmptyAndUnrelatedVariablesAreIgnored) {
  std::string path = WriteFile("c.yaml", "listen: from-file\n");
  v1::CoordinatorConfig config;
  absl::Status status = LoadDaemonConfig({"--config", path},
                                         {{"ANTEROOM_LISTEN", ""},
                                          {"ANTEROOM_IO_THREADS", "not-a-coordinator-field"},
                                          {"ANTEROOM_SHARD_COUNT", "2"}},
                                         &config);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.listen(), "from-file");
  EXPECT_EQ(config.shard_count(), 2);
}

TEST_F(ConfigLoaderTest, RejectsBadCommandLinesNamingTheFlag) {
  struct Case {
    Args args;
    std::string want;
  };
  for (const Case& c : {
           Case{{"--data-dri=x"}, "unknown flag --data-dri"},
           Case{{"--"}, ""},
           Case{{"--", "extra"}, "unexpected positional argument 'extra'"},
           Case{{"serve"}, "unexpected positional argument 'serve'"},
           Case{{"-v"}, "unexpected positional argument '-v'"},
           Case{{"--=x"}, "unknown flag --"},
           Case{{"--data-dir"}, "flag --data-dir needs a value"},
           Case{{"--data-dir", "--listen=x"}, "flag --data-dir needs a value"},
           Case{{"--config"}, "flag --config needs a value"},
           Case{{"--config="}, "flag --config needs a value"},
           Case{{"--shard-index=abc"}, "flag --shard-index: expected an integer, got 'abc'"},
           Case{{"--shard-index", "9999999999"},
                "flag --shard-index: out of range for int32 (got 9999999999)"},
           Case{{"--print-config=maybe"},
                "flag --print-config: expected true or false, got 'maybe'"},
           Case{{"--print-config", "false"}, "unexpected positional argument 'false'"},
       }) {
    v1::CoordinatorConfig config;
    config.set_data_dir("untouched");
    absl::Status status = LoadDaemonConfig(c.args, {}, &config);
    if (c.want.empty()) {
      EXPECT_TRUE(status.ok()) << status;
      continue;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << ::testing::PrintToString(c.args);
    EXPECT_EQ(Message(status), c.want);
    EXPECT_EQ(config.data_dir(), "untouched");
  }
}

TEST_F(ConfigLoaderTest, RejectsFlagsForFileOnlyFields) {
  v1::AgentConfig config;
  absl::Status status = LoadDaemonConfig({"--pools=x"}, {}, &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), "flag --pools: 'pools' can only be set in the config file");
}

TEST_F(ConfigLoaderTest, RejectsBadEnvironmentValuesNamingTheVariable) {
  v1::CoordinatorConfig config;
  absl::Status status = LoadDaemonConfig({}, {{"ANTEROOM_SYNC_INTERVAL_MS", "500ms"}}, &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "environment variable ANTEROOM_SYNC_INTERVAL_MS: expected an integer, got '500ms'");
}

TEST_F(ConfigLoaderTest, FileErrorsNameThePath) {
  v1::CoordinatorConfig config;
  std::string missing = dir_ + "/missing.yaml";
  absl::Status status = LoadDaemonConfig({"--config=" + missing}, {}, &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(status), HasSubstr(missing));

  std::string bad = WriteFile("bad.yaml", "data_dir: x\nshard_cuont: 2\n");
  status = LoadDaemonConfig({}, {{"ANTEROOM_CONFIG", bad}}, &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), bad +
                                 ":2:1: shard_cuont: unknown field 'shard_cuont' in "
                                 "anteroom.v1.CoordinatorConfig");
  EXPECT_EQ(config.data_dir(), "");
}

TEST_F(ConfigLoaderTest, FlagErrorsAreReportedBeforeTheFileIsRead) {
  v1::CoordinatorConfig config;
  absl::Status status =
      LoadDaemonConfig({"--config", dir_ + "/missing.yaml", "--shard-count=x"}, {}, &config);
  EXPECT_EQ(Message(status), "flag --shard-count: expected an integer, got 'x'");
}

TEST_F(ConfigLoaderTest, EnumFieldsAcceptShortNames) {
  // No daemon config has an enum today; a Room stands in to show flags read enums as files do.
  v1::Room room;
  absl::Status status = LoadDaemonConfig({"--queueing-method=random"},
                                         {{"ANTEROOM_FAIL_MODE", "FAIL_MODE_OPEN"}}, &room);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(room.queueing_method(), v1::QUEUEING_METHOD_RANDOM);
  EXPECT_EQ(room.fail_mode(), v1::FAIL_MODE_OPEN);
  EXPECT_THAT(Message(LoadDaemonConfig({"--fail-mode=ajar"}, {}, &room)),
              HasSubstr("flag --fail-mode: unknown value 'ajar' for anteroom.v1.FailMode; "
                        "accepted: unspecified, closed, open"));
}

TEST_F(ConfigLoaderTest, UsageListsFlagsTypesAndVariables) {
  std::string usage = ConfigUsage(*v1::AgentConfig::descriptor());
  EXPECT_THAT(usage, HasSubstr("--config=PATH"));
  EXPECT_THAT(usage, HasSubstr("ANTEROOM_CONFIG"));
  EXPECT_THAT(usage, HasSubstr("--admin-listen=STRING"));
  EXPECT_THAT(usage, HasSubstr("(env ANTEROOM_ADMIN_LISTEN)"));
  EXPECT_THAT(usage, HasSubstr("--coordinators=STRING,..."));
  EXPECT_THAT(usage, HasSubstr("--io-threads=INT32"));
  EXPECT_THAT(usage, HasSubstr("--max-body-bytes=INT64"));
  EXPECT_THAT(usage, HasSubstr("Only in the config file: pools\n"));
  EXPECT_THAT(ConfigUsage(*v1::CoordinatorConfig::descriptor()),
              HasSubstr("--print-config[=BOOL]"));
  EXPECT_THAT(ConfigUsage(*v1::Room::descriptor()),
              HasSubstr("--queueing-method={unspecified|fifo|random|passthrough|reject}"));
}

TEST(EnvironmentFromProcessTest, ReadsOnlyAnteroomVariables) {
  ASSERT_EQ(setenv("ANTEROOM_CONFIG_LOADER_TEST", "a=b", 1), 0);
  ASSERT_EQ(setenv("NOT_ANTEROOM_CONFIG_LOADER_TEST", "x", 1), 0);
  std::map<std::string, std::string> env = EnvironmentFromProcess();
  EXPECT_EQ(env["ANTEROOM_CONFIG_LOADER_TEST"], "a=b");
  for (const auto& [name, value] : env) {
    EXPECT_EQ(name.rfind("ANTEROOM_", 0), 0u) << name;
  }
  unsetenv("ANTEROOM_CONFIG_LOADER_TEST");
  unsetenv("NOT_ANTEROOM_CONFIG_LOADER_TEST");
}

}  // namespace
}  // namespace anteroom::common
