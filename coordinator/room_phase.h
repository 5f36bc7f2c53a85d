#pragma once

// What a room does at a given time: its phase and the limits in force (event overrides applied).

#include <cstdint>

#include "anteroom/v1/room.pb.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::coordinator {

struct EffectiveLimits {
  v1::RoomPhase phase = v1::ROOM_PHASE_OPEN;
  int64_t total_active_users = 0;
  int64_t new_users_per_minute = 0;
  int64_t session_seconds = 0;
  int64_t refresh_seconds = 0;
  // Whether the room admits from its queue now (OPEN or EVENT with a queueing method that queues).
  bool admits = false;
};

// Pure function of the settings and the time (Unix milliseconds).
EffectiveLimits LimitsAt(const v1::Room& room, int64_t now_ms);

}  // namespace anteroom::coordinator
