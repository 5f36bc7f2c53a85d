#include "ctl/flag_parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace anteroom::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<FlagSpec>& Specs() {
  static const auto* kSpecs = new std::vector<FlagSpec>{
      {"name"},
      {"flag", FlagKind::kBool},
      {"item", FlagKind::kValue, true},
      {"output", FlagKind::kValue, false, 'o'},
      {"help", FlagKind::kBool, false, 'h'},
  };
  return *kSpecs;
}

absl::StatusOr<ParsedArgs> Parse(std::vector<std::string> args) { return ParseArgs(args, Specs()); }

TEST(FlagParserTest, ReadsEqualsAndSeparateValues) {
  auto parsed = Parse({"room", "--name=a", "get", "--output", "json", "x"});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Get("name"), "a");
  EXPECT_EQ(parsed->Get("output"), "json");
  EXPECT_THAT(parsed->positional(), ElementsAre("room", "get", "x"));
}

TEST(FlagParserTest, BoolFlagAloneIsTrueAndTakesOnlyAnInlineValue) {
  auto parsed = Parse({"--flag", "positional"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("flag"), "true");
  EXPECT_THAT(parsed->positional(), ElementsAre("positional"));

  parsed = Parse({"--flag=false"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("flag"), "false");
}

TEST(FlagParserTest, RepeatableFlagKeepsOrder) {
  auto parsed = Parse({"--item=b", "--item", "a", "--item=c"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->GetAll("item"), ElementsAre("b", "a", "c"));
}

TEST(FlagParserTest, ShortAliases) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-o", "json"}, {"-ojson"}, {"-o=json"}, {"--output=json"}}) {
    auto parsed = Parse(args);
    ASSERT_TRUE(parsed.ok()) << args[0];
    EXPECT_EQ(parsed->Get("output"), "json") << args[0];
  }
  auto parsed = Parse({"-h"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->Has("help"));
}

TEST(FlagParserTest, ValueFlagTakesNextTokenEvenIfItLooksLikeAFlag) {
  auto parsed = Parse({"--name", "-5"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Get("name"), "-5");
}

TEST(FlagParserTest, EmptyValueIsKept) {
  auto parsed = Parse({"--item="});
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->Has("item"));
  EXPECT_THAT(parsed->GetAll("item"), ElementsAre(""));
}

TEST(FlagParserTest, DoubleDashEndsFlags) {
  auto parsed = Parse({"--name=a", "--", "--not-a-flag", "-x"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->positional(), ElementsAre("--not-a-flag", "-x"));
}

TEST(FlagParserTest, SingleDashIsPositional) {
  auto parsed = Parse({"-"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->positional(), ElementsAre("-"));
}

TEST(FlagParserTest, NamesListsEachFlagOnce) {
  auto parsed = Parse({"--item=a", "--item=b", "--name=x"});
  ASSERT_TRUE(parsed.ok());
  EXPECT_THAT(parsed->Names(), ElementsAre("item", "name"));
  EXPECT_FALSE(parsed->Has("flag"));
  EXPECT_EQ(parsed->Get("flag"), std::nullopt);
}

TEST(FlagParserTest, Errors) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"--unknown"}, "unknown flag --unknown"},
           {{"--unknown=1"}, "unknown flag --unknown"},
           {{"-x"}, "unknown flag -x"},
           {{"--name"}, "--name: needs a value"},
           {{"-o"}, "-o: needs a value"},
           {{"--name=a", "--name=b"}, "--name: given more than once"},
           {{"--flag", "--flag=false"}, "--flag: given more than once"},
       }) {
    auto parsed = Parse(c.args);
    ASSERT_FALSE(parsed.ok()) << c.args[0];
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error));
  }
}

}  // namespace
}  // namespace anteroom::ctl
