#include "ctl/value_parsers.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace anteroom::ctl {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ValueParsersTest, PositiveInt) {
  EXPECT_EQ(*ParsePositiveInt("n", "1"), 1);
  EXPECT_EQ(*ParsePositiveInt("n", "1000000"), 1000000);
  for (const char* bad : {"0", "-1", "abc", "", "1.5", "12x", "99999999999999999999"}) {
    auto parsed = ParsePositiveInt("total-active-users", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(Message(parsed.status()),
              std::string("--total-active-users: expected a positive integer, got '") + bad + "'");
  }
}

TEST(ValueParsersTest, NonNegativeInt) {
  EXPECT_EQ(*ParseNonNegativeInt("n", "0"), 0);
  EXPECT_EQ(*ParseNonNegativeInt("n", "7"), 7);
  EXPECT_THAT(Message(ParseNonNegativeInt("n", "-1").status()),
              HasSubstr("--n: expected a non-negative integer, got '-1'"));
}

TEST(ValueParsersTest, Bool) {
  for (const char* yes : {"true", "TRUE", "yes", "on", "1"}) EXPECT_TRUE(*ParseBool("b", yes));
  for (const char* no : {"false", "False", "no", "off", "0"}) EXPECT_FALSE(*ParseBool("b", no));
  EXPECT_EQ(Message(ParseBool("queue-all", "maybe").status()),
            "--queue-all: expected true or false, got 'maybe'");
}

TEST(ValueParsersTest, Seconds) {
  struct Case {
    const char* text;
    int64_t seconds;
  };
  for (const Case& c : std::vector<Case>{{"300", 300},
                                         {"300s", 300},
                                         {"5m", 300},
                                         {"1h", 3600},
                                         {"1h30m", 5400},
                                         {"0", 0},
                                         {"2000ms", 2}}) {
    auto parsed = ParseSeconds("session-duration", c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(*parsed, c.seconds) << c.text;
  }
  for (const char* bad : {"", "abc", "-5m", "5 minutes", "-1", "inf"}) {
    auto parsed = ParseSeconds("session-duration", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(Message(parsed.status()),
                HasSubstr("--session-duration: expected a duration such as 300, 300s, 5m or 1h"));
  }
  EXPECT_EQ(Message(ParseSeconds("session-duration", "1.5s").status()),
            "--session-duration: must be whole seconds, got '1.5s'");
}

TEST(ValueParsersTest, Millis) {
  EXPECT_EQ(*ParseMillis("interval", "2000"), 2000);
  EXPECT_EQ(*ParseMillis("interval", "2s"), 2000);
  EXPECT_EQ(*ParseMillis("interval", "500ms"), 500);
  EXPECT_EQ(*ParseMillis("interval", "1m"), 60000);
  EXPECT_THAT(Message(ParseMillis("interval", "fast").status()),
              HasSubstr("--interval: expected a duration such as 2000 (milliseconds)"));
  EXPECT_THAT(Message(ParseMillis("interval", "1.5ms").status()),
              HasSubstr("--interval: must be whole milliseconds"));
}

TEST(ValueParsersTest, PositiveDuration) {
  EXPECT_EQ(*ParsePositiveDuration("timeout", "5"), absl::Seconds(5));
  EXPECT_EQ(*ParsePositiveDuration("timeout", "500ms"), absl::Milliseconds(500));
  for (const char* bad : {"0", "0s", "-1s", "soon"}) {
    EXPECT_THAT(Message(ParsePositiveDuration("timeout", bad).status()),
                HasSubstr("--timeout: expected a positive duration"))
        << bad;
  }
}

TEST(ValueParsersTest, UnixTime) {
  EXPECT_EQ(*ParseUnixTime("event-start", "2026-12-01T10:00:00Z"), 1796119200);
  EXPECT_EQ(*ParseUnixTime("event-start", "2026-12-01T12:00:00+02:00"), 1796119200);
  EXPECT_EQ(*ParseUnixTime("event-start", "1796119200"), 1796119200);
  EXPECT_EQ(*ParseUnixTime("event-start", "0"), 0);
  for (const char* bad : {"tomorrow", "2026-12-01", "2026-13-01T10:00:00Z", "-5", ""}) {
    auto parsed = ParseUnixTime("event-start", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(Message(parsed.status()),
                HasSubstr("--event-start: expected an RFC 3339 time such as "
                          "2026-12-01T10:00:00Z or Unix seconds, got '"));
  }
  EXPECT_THAT(Message(ParseUnixTime("event-start", "1960-01-01T00:00:00Z").status()),
              HasSubstr("--event-start: is before 1970"));
  EXPECT_THAT(Message(ParseUnixTime("event-start", "2026-12-01T10:00:00.5Z").status()),
              HasSubstr("--event-start: must be whole seconds"));
}

TEST(ValueParsersTest, KeyValue) {
  auto kv = ParseKeyValue("bypass-header", "X-Bypass=a=b");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->first, "X-Bypass");
  EXPECT_EQ(kv->second, "a=b");
  EXPECT_EQ(ParseKeyValue("h", "X-Empty=")->second, "");
  for (const char* bad : {"novalue", "=value", ""}) {
    EXPECT_THAT(Message(ParseKeyValue("bypass-header", bad).status()),
                HasSubstr("--bypass-header: expected NAME=VALUE, got '"))
        << bad;
  }
}

TEST(ValueParsersTest, Enum) {
  enum class Color { kRed, kBlue };
  std::vector<EnumChoice<Color>> choices = {{"red", Color::kRed}, {"blue", Color::kBlue}};
  EXPECT_EQ(*ParseEnum("color", "BLUE", choices), Color::kBlue);
  EXPECT_EQ(Message(ParseEnum("color", "green", choices).status()),
            "--color: expected one of red, blue, got 'green'");
}

TEST(ValueParsersTest, ReadFile) {
  std::string path = ::testing::TempDir() + "/value_parsers_test_file.html";
  {
    std::ofstream out(path);
    out << "<h1>{{position}}</h1>";
  }
  EXPECT_EQ(*ReadFileFlag("page-template-file", path), "<h1>{{position}}</h1>");
  std::remove(path.c_str());
  EXPECT_EQ(Message(ReadFileFlag("page-template-file", "/nonexistent/x.html").status()),
            "--page-template-file: cannot read '/nonexistent/x.html'");
  EXPECT_THAT(Message(ReadFileFlag("page-template-file", "/").status()),
              HasSubstr("is a directory"));
}

}  // namespace
}  // namespace anteroom::ctl
