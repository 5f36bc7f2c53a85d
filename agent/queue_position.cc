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
                         int64_t local_ahead, int64_t now_s) {
  QueuePosition out;
  const auto& eta = view.eta();
  const double spu = view.seconds_per_user();
  // The entry whose range holds the bucket: the last one starting at or before it.
  auto it = std::upper_bound(eta.begin(), eta.end(), bucket,
                             [](int64_t b, const v1::EtaEntry& e) { return b < e.first_bucket(); });
  int64_t ahead = 0;
  int64_t within = local_ahead;
  int64_t base_eta = eta.empty() ? 0 : eta.begin()->eta_seconds();
  if (it != eta.begin()) {
    const v1::EtaEntry& e = *std::prev(it);
    const bool last = std::next(std::prev(it)) == eta.end();
    // A bucket the view does not count yet (newer than its last counted one): behind everyone
    // it counts, after the users this agent queued earlier in the same second.
    const bool newer = last && bucket > e.first_bucket() &&
                       (e.last_bucket() > 0 ? bucket > e.last_bucket()
                                            : view.waiting() > e.users_ahead() + e.waiting());
    if (newer) {
      ahead = e.users_ahead() + e.waiting();
      base_eta =
          e.eta_seconds() + static_cast<int64_t>(std::ceil(static_cast<double>(e.waiting()) * spu));
    } else {
      ahead = e.users_ahead();
      within = std::max(
          local_ahead,
          static_cast<int64_t>(std::floor(visitor_fraction * static_cast<double>(e.waiting()))));
      base_eta = e.eta_seconds();
    }
  }
  out.position = ahead + within + 1;
  out.eta_seconds = base_eta + static_cast<int64_t>(std::ceil(static_cast<double>(within) * spu));
  if (out.position > 1) {
    // Nobody behind the front is let in sooner than the fastest the queue can move.
    const double outflow = view.max_outflow_per_second();
    const int64_t soonest =
        outflow > 0
            ? static_cast<int64_t>(std::ceil(static_cast<double>(out.position - 1) / outflow))
            : 1;
    out.eta_seconds = std::max({out.eta_seconds, soonest, int64_t{1}});
  }
  const double waited = static_cast<double>(std::max<int64_t>(0, now_s - bucket));
  const double total = waited + static_cast<double>(out.eta_seconds);
  out.progress = total > 0 ? std::clamp(waited / total, 0.0, 1.0) : 0.0;
  return out;
}

int64_t RefreshAfterSeconds(bool eligible, const QueuePosition& position, int64_t refresh_seconds,
                            double max_outflow_per_second) {
  if (eligible) return 1;
  double after = static_cast<double>(refresh_seconds);
  if (position.eta_seconds <= 2 * refresh_seconds) {
    // A short wait (often a room under its limits, briefly behind a burst) polls soon: the
    // user is let in at the first poll after the marker reaches them.
    after = std::min(after, static_cast<double>(position.eta_seconds) / 4.0);
  }
  // However long the estimate, seats can free early (checkouts): a user the front could reach
  // before the next poll must poll again before then, at the fastest the queue can move.
  if (max_outflow_per_second > 0) {
    after =
        std::min(after, static_cast<double>(position.position - 1) / max_outflow_per_second / 2.0);
  }
  return std::clamp<int64_t>(static_cast<int64_t>(std::floor(after)), 1, refresh_seconds);
}

}  // namespace anteroom::agent
