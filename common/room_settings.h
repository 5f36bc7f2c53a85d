#pragma once

// A room's settings with their documented defaults applied. Both sides read settings only
// through these, so a default lives in exactly one place.

#include <cstdint>

#include "anteroom/v1/room.pb.h"

namespace anteroom::common {

inline constexpr int64_t kDefaultSessionSeconds = 300;
inline constexpr int64_t kDefaultRefreshSeconds = 20;
inline constexpr int32_t kDefaultQueueingStatus = 200;
inline constexpr int64_t kDefaultAbandonGraceSeconds = 300;

inline int64_t SessionSeconds(const v1::Room& room) {
  return room.session_duration_seconds() > 0 ? room.session_duration_seconds()
                                             : kDefaultSessionSeconds;
}
inline bool SessionRenewal(const v1::Room& room) {
  return !room.has_session_renewal() || room.session_renewal();
}
inline int64_t RefreshSeconds(const v1::Room& room) {
  return room.refresh_interval_seconds() > 0 ? room.refresh_interval_seconds()
                                             : kDefaultRefreshSeconds;
}
// 0: sessions have no hard cap.
inline int64_t MaxSessionSeconds(const v1::Room& room) {
  return room.max_session_duration_seconds() > 0 ? room.max_session_duration_seconds() : 0;
}
// How long a queued user may go unseen before the place is lost; never under two refreshes.
inline int64_t AbandonGraceSeconds(const v1::Room& room) {
  const int64_t grace =
      room.abandon_grace_seconds() > 0 ? room.abandon_grace_seconds() : kDefaultAbandonGraceSeconds;
  return grace > 2 * RefreshSeconds(room) ? grace : 2 * RefreshSeconds(room);
}
inline int32_t QueueingStatusCode(const v1::Room& room) {
  return room.queueing_status_code() != 0 ? room.queueing_status_code() : kDefaultQueueingStatus;
}
inline v1::QueueingMethod Method(const v1::Room& room) {
  return room.queueing_method() == v1::QUEUEING_METHOD_UNSPECIFIED ? v1::QUEUEING_METHOD_FIFO
                                                                   : room.queueing_method();
}

}  // namespace anteroom::common
