#include "common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <string>

namespace anteroom::common {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(LoggingTest, SetsLevelAndWritesIsoTimeLevelAndComponentToStderr) {
  ASSERT_TRUE(InitLogging("debug", "coordinator").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  ::testing::internal::CaptureStderr();
  spdlog::debug("loaded {} rooms", 3);
  spdlog::trace("not shown at debug");
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}"
                                "[+-][0-9]{2}:[0-9]{2} debug coordinator: loaded 3 rooms\n"));
}

TEST(LoggingTest, AcceptsEveryLevelInAnyCaseAndEmptyAsInfo) {
  struct Case {
    std::string text;
    spdlog::level::level_enum want;
  };
  for (const Case& c : {Case{"trace", spdlog::level::trace}, Case{"DEBUG", spdlog::level::debug},
                        Case{"info", spdlog::level::info}, Case{"Warn", spdlog::level::warn},
                        Case{"error", spdlog::level::err}, Case{"off", spdlog::level::off},
                        Case{"", spdlog::level::info}}) {
    ASSERT_TRUE(InitLogging(c.text, "agent").ok()) << c.text;
    EXPECT_EQ(spdlog::default_logger()->level(), c.want) << c.text;
    EXPECT_EQ(spdlog::default_logger()->name(), "agent");
  }
}

TEST(LoggingTest, OffSilencesEverything) {
  ASSERT_TRUE(InitLogging("off", "agent").ok());
  ::testing::internal::CaptureStderr();
  spdlog::error("hidden");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(LoggingTest, RejectsUnknownLevelNamingValueAndAcceptedLevels) {
  ASSERT_TRUE(InitLogging("warn", "agent").ok());
  absl::Status status = InitLogging("verbose", "agent");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "--log-level: unknown level 'verbose'; accepted: trace, debug, info, warn, error, off");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);  // Previous logger stays.
}

}  // namespace
}  // namespace anteroom::common
