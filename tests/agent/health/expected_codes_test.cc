// ExpectedCodes: what a health monitor accepts, parsed from the operator's text.

#include "common/expected_codes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace anteroom::common {
namespace {

using ::testing::HasSubstr;

struct ParseCase {
  std::string name;
  std::string text;
  std::vector<int> matches;
  std::vector<int> rejects;
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class ExpectedCodesParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ExpectedCodesParseTest, MatchesExactlyTheListedCodes) {
  const ParseCase& c = GetParam();
  absl::StatusOr<ExpectedCodes> codes = ExpectedCodes::Parse("monitor.expected_codes", c.text);
  ASSERT_TRUE(codes.ok()) << codes.status();
  for (int status : c.matches) EXPECT_TRUE(codes->Matches(status)) << status;
  for (int status : c.rejects) EXPECT_FALSE(codes->Matches(status)) << status;
}

INSTANTIATE_TEST_SUITE_P(
    All, ExpectedCodesParseTest,
    ::testing::ValuesIn(std::vector<ParseCase>{
        {"EmptyIs2xx", "", {200, 204, 299}, {199, 300, 404, 503}},
        {"Class", "2xx", {200, 250, 299}, {199, 300, 0, -1, 600}},
        {"UpperCaseClass", "3XX", {300, 399}, {299, 400}},
        {"List", "200,301", {200, 301}, {201, 300, 302}},
        {"Range", "200-299", {200, 299}, {199, 300}},
        {"SpacesAndMixed", " 204 , 3xx", {204, 300, 399}, {200, 203, 205, 400}},
        {"SingleCodeRange", "404-404", {404}, {403, 405}},
        {"Extremes", "100,599", {100, 599}, {101, 598, 600, 99}},
        {"OverlappingParts", "2xx,200-210", {200, 210, 299}, {300}},
    }),
    [](const auto& info) { return info.param.name; });

struct BadCase {
  std::string name;
  std::string text;
  std::string error;  // Expected in the message after "monitor.expected_codes: ".
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ExpectedCodesErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ExpectedCodesErrorTest, NamesTheFieldAndTheBadPart) {
  const BadCase& c = GetParam();
  absl::StatusOr<ExpectedCodes> codes = ExpectedCodes::Parse("monitor.expected_codes", c.text);
  ASSERT_FALSE(codes.ok());
  EXPECT_EQ(codes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(codes.status().message(), HasSubstr("monitor.expected_codes: " + c.error));
}

INSTANTIATE_TEST_SUITE_P(
    All, ExpectedCodesErrorTest,
    ::testing::ValuesIn(std::vector<BadCase>{
        {"Word", "abc", "'abc' is not a status code, range or class like 2xx"},
        {"TooHigh", "600", "'600' is not a status code"},
        {"TooLow", "99", "'99' is not a status code"},
        {"BadClass", "2xy", "'2xy' is not a status code"},
        {"ClassSix", "6xx", "'6xx' is not a status code"},
        {"ReversedRange", "300-200", "'300-200' is a range that ends before it starts"},
        {"RangePastEnd", "500-600", "'500-600' is not a status code"},
        {"ThreeEndedRange", "200-250-299", "'200-250-299' is not a status code"},
        {"SignedCode", "+200", "'+200' is not a status code"},
        {"EmptyPart", "200,,301", "'' is not a status code"},
        {"BadPartAfterGoodOnes", "200, 2xx ,oops", "'oops' is not a status code"},
    }),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace anteroom::common
