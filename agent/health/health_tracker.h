#pragma once

// HealthTracker: the rise/fall state machine of one origin. It changes state only after
// `consecutive_up` good results in a row (down -> up) or `consecutive_down` bad ones (up ->
// down), so an origin whose probes alternate never flips. Starts up.
//
// Thread-compatible.

namespace anteroom::agent {

class HealthTracker {
 public:
  // Thresholds below 1 count as 1.
  HealthTracker(int consecutive_up, int consecutive_down);

  // Feeds one probe result; returns true when the state changed.
  bool Observe(bool good);
  // Live traffic marked the origin down: down at once, and the next consecutive_up probes
  // must all be good to bring it back. Returns true when the state changed.
  bool ForceDown();

  bool up() const { return up_; }

 private:
  int consecutive_up_;
  int consecutive_down_;
  bool up_ = true;
  int streak_ = 0;  // Results in a row that disagree with the current state.
};

}  // namespace anteroom::agent
