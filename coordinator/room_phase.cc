#include "coordinator/room_phase.h"

#include "common/room_settings.h"

namespace anteroom::coordinator {

EffectiveLimits LimitsAt(const v1::Room& room, int64_t now_ms) {
  EffectiveLimits l;
  l.total_active_users = room.total_active_users();
  l.new_users_per_minute = room.new_users_per_minute();
  l.session_seconds = common::SessionSeconds(room);
  l.refresh_seconds = common::RefreshSeconds(room);

  const v1::Event& ev = room.event();
  const int64_t now_s = now_ms / 1000;
  const bool in_prequeue = ev.start_unix() > 0 && ev.prequeue_start_unix() > 0 &&
                           now_s >= ev.prequeue_start_unix() && now_s < ev.start_unix();
  const bool in_event = ev.start_unix() > 0 && now_s >= ev.start_unix() &&
                        (ev.end_unix() == 0 || now_s < ev.end_unix());
  if (in_event) {
    const v1::EventOverrides& o = ev.overrides();
    if (o.has_total_active_users()) l.total_active_users = o.total_active_users();
    if (o.has_new_users_per_minute()) l.new_users_per_minute = o.new_users_per_minute();
    if (o.has_session_duration_seconds()) l.session_seconds = o.session_duration_seconds();
  }

  if (room.suspended()) {
    l.phase = v1::ROOM_PHASE_SUSPENDED;
  } else if (common::Method(room) == v1::QUEUEING_METHOD_REJECT) {
    l.phase = v1::ROOM_PHASE_CLOSED;
  } else if (room.queue_all()) {
    l.phase = v1::ROOM_PHASE_QUEUE_ALL;
  } else if (in_prequeue) {
    l.phase = v1::ROOM_PHASE_PREQUEUE;
  } else if (common::Method(room) == v1::QUEUEING_METHOD_PASSTHROUGH) {
    l.phase = v1::ROOM_PHASE_PASSTHROUGH;
  } else {
    l.phase = in_event ? v1::ROOM_PHASE_EVENT : v1::ROOM_PHASE_OPEN;
  }
  l.admits = l.phase == v1::ROOM_PHASE_OPEN || l.phase == v1::ROOM_PHASE_EVENT;
  return l;
}

}  // namespace anteroom::coordinator
