#pragma once

// The `room` commands. Each validates what it can before calling the API, so a bad flag or
// an invalid room is a usage error and never reaches the coordinator.

#include "absl/status/status.h"
#include "ctl/invocation.h"

namespace anteroom::ctl {

// room create ID [room flags]: needs --total-active-users and --new-users-per-minute (or a
// --from-file that sets them).
// Prints the room as created.
absl::Status RoomCreate(const Invocation& invocation);
// room get ID
absl::Status RoomGet(const Invocation& invocation);
// room list
absl::Status RoomList(const Invocation& invocation);
// room update ID [room flags]: reads the room, applies only the flags given, and writes it
// back with expected_version set, so a concurrent change is never overwritten. On ABORTED
// (someone else wrote in between) it reads again and retries, up to 3 times in all.
// Prints the room as updated.
absl::Status RoomUpdate(const Invocation& invocation);
// room delete ID
absl::Status RoomDelete(const Invocation& invocation);
// room status ID
absl::Status RoomStatus(const Invocation& invocation);

}  // namespace anteroom::ctl
