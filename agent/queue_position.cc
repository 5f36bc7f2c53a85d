#include "agent/queue_position.h"

#include <algorithm>
#include <cmath>

namespace anteroom::agent {

bool IsEligible(const v1::RoomView& view, bool random, int64_t bucket, double visitor_fraction,
                double epoch_fraction) {
  if (random) return epoch_fraction < view.marker().probability();
  const v1::Marker& m = view.marker();
  return bucket < m.admit_through_bucket() ||
         (bucket == m.admit_through_bucket() && visitor_fraction < m.fraction());
}

QueuePosition PositionOf(const v1::RoomView& view, int64_t bucket, double visitor_fraction,
                         int64_t now_s) {
  QueuePosition out;
  const auto& eta = view.eta();
  // The entry whose range holds the bucket: the last one starting at or before it.
  auto it = std::upper_bound(eta.begin(), eta.end(), bucket,
                             [](int64_t b, const v1::EtaEntry& e) { return b < e.first_bucket(); });
  int64_t ahead;
  int64_t within;
  int64_t base_eta;
  if (it == eta.begin()) {
    // Older than anything counted (or not counted yet while the table is empty): the front.
    ahead = 0;
    within = 0;
    base_eta = eta.empty() ? 0 : eta.begin()->eta_seconds();
  } else {
    const v1::EtaEntry& e = *std::prev(it);
    ahead = e.users_ahead();
    // Bucket not counted yet (newer than the table): behind everyone the table knows.
    const bool newer = std::next(std::prev(it)) == eta.end() && bucket > e.first_bucket() &&
                       view.waiting() > e.users_ahead() + e.waiting();
    within =
        newer
            ? e.waiting()
            : static_cast<int64_t>(std::floor(visitor_fraction * static_cast<double>(e.waiting())));
    base_eta = e.eta_seconds();
  }
  out.position = ahead + within + 1;
  out.eta_seconds =
      base_eta +
      static_cast<int64_t>(std::ceil(static_cast<double>(within) * view.seconds_per_user()));
  const double waited = static_cast<double>(std::max<int64_t>(0, now_s - bucket));
  const double total = waited + static_cast<double>(out.eta_seconds);
  out.progress = total > 0 ? std::clamp(waited / total, 0.0, 1.0) : 0.0;
  return out;
}

int64_t RefreshAfterSeconds(bool eligible, const QueuePosition& position, int64_t refresh_seconds) {
  if (eligible) return 1;
  if (position.eta_seconds <= 2 * refresh_seconds) {
    // A short wait (often a room under its limits, briefly behind a burst) polls soon: the
    // user is let in at the first poll after the marker reaches them.
    return std::clamp<int64_t>(position.eta_seconds / 4, 1, refresh_seconds);
  }
  return refresh_seconds;
}

}  // namespace anteroom::agent
