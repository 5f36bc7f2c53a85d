#include "agent/health/health_tracker.h"

#include <algorithm>

namespace anteroom::agent {

HealthTracker::HealthTracker(int consecutive_up, int consecutive_down)
    : consecutive_up_(std::max(1, consecutive_up)),
      consecutive_down_(std::max(1, consecutive_down)) {}

bool HealthTracker::Observe(bool good) {
  if (good == up_) {
    streak_ = 0;
    return false;
  }
  if (++streak_ < (up_ ? consecutive_down_ : consecutive_up_)) return false;
  up_ = good;
  streak_ = 0;
  return true;
}

bool HealthTracker::ForceDown() {
  // Even when already down, a good streak in progress starts over.
  streak_ = 0;
  if (!up_) return false;
  up_ = false;
  return true;
}

}  // namespace anteroom::agent
