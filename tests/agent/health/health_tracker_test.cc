// HealthTracker: the rise/fall state machine, fed sequences of probe results.

#include "agent/health/health_tracker.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace anteroom::agent {
namespace {

struct TrackerCase {
  std::string name;
  int consecutive_up;
  int consecutive_down;
  // One step per character: '+' a good probe, '-' a bad one, 'F' ForceDown.
  std::string steps;
  // The state after each step: 'U' up, 'D' down.
  std::string states;
};

void PrintTo(const TrackerCase& c, std::ostream* os) { *os << c.name; }

class HealthTrackerTest : public ::testing::TestWithParam<TrackerCase> {};

TEST_P(HealthTrackerTest, FollowsTheSteps) {
  const TrackerCase& c = GetParam();
  ASSERT_EQ(c.steps.size(), c.states.size());
  HealthTracker tracker(c.consecutive_up, c.consecutive_down);
  EXPECT_TRUE(tracker.up());
  bool was_up = true;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const bool changed =
        c.steps[i] == 'F' ? tracker.ForceDown() : tracker.Observe(c.steps[i] == '+');
    const bool up = c.states[i] == 'U';
    EXPECT_EQ(tracker.up(), up) << "after step " << i << " of " << c.steps;
    EXPECT_EQ(changed, up != was_up) << "after step " << i << " of " << c.steps;
    was_up = tracker.up();
  }
}

INSTANTIATE_TEST_SUITE_P(All, HealthTrackerTest,
                         ::testing::ValuesIn(std::vector<TrackerCase>{
                             {"StartsUpAndStaysUp", 2, 3, "++++", "UUUU"},
                             {"FallsAfterConsecutiveDown", 2, 3, "---", "UUD"},
                             {"RisesAfterConsecutiveUp", 2, 3, "---++", "UUDDU"},
                             {"GoodResultResetsTheFall", 2, 3, "--+--+---", "UUUUUUUUD"},
                             {"BadResultResetsTheRise", 3, 1, "-++-+++", "DDDDDDU"},
                             {"AlternatingNeverFlips", 2, 2, "-+-+-+-+-+", "UUUUUUUUUU"},
                             {"AlternatingNeverFlipsWhenDown", 2, 2, "--+-+-+-+-", "UDDDDDDDDD"},
                             {"ThresholdsOfOneFlipAtOnce", 1, 1, "-+-+", "DUDU"},
                             {"ThresholdsBelowOneCountAsOne", 0, -5, "-+", "DU"},
                             {"ForceDownIsImmediate", 2, 3, "F", "D"},
                             {"ForceDownThenNeedsConsecutiveUp", 3, 3, "F+++", "DDDU"},
                             {"ForceDownRestartsARise", 3, 3, "---++F+++", "UUDDDDDDU"},
                             {"ForceDownWhenDownChangesNothing", 2, 1, "-F", "DD"},
                             {"ForceDownThenBadResultsStayDown", 2, 3, "F---+", "DDDDD"},
                         }),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace anteroom::agent
