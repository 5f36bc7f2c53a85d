#pragma once

// Writes rooms and room status as anteroomctl shows them: a table for people, or JSON
// (ctl/format.h) for scripts. Every function writes a complete document ending in '\n'.

#include <ostream>
#include <vector>

#include "anteroom/v1/admin.pb.h"
#include "anteroom/v1/room.pb.h"
#include "ctl/format.h"

namespace anteroom::ctl {

// Every setting of one room, one per line, defaults spelled out.
void PrintRoom(const v1::Room& room, OutputFormat format, std::ostream& out);

// One line per room (JSON: an array of rooms).
void PrintRooms(const std::vector<v1::Room>& rooms, OutputFormat format, std::ostream& out);

// Phase, counts, rates, ETA, marker, then a table of the agents' views.
void PrintRoomStatus(const v1::RoomStatus& status, OutputFormat format, std::ostream& out);

}  // namespace anteroom::ctl
