#pragma once

// Validation of operator input. Every error is InvalidArgument and names the field path and
// the reason, e.g. "room.total_active_users: must be at least 1 (got 0)".

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "anteroom/v1/pool.pb.h"
#include "anteroom/v1/room.pb.h"

namespace anteroom::common {

// Room and pool ids: [a-z0-9_-], 1 to 64 characters.
absl::Status ValidateId(absl::string_view field, absl::string_view id);

// Checks every setting of a room as the operator sent it (version fields are ignored).
absl::Status ValidateRoom(const v1::Room& room);

absl::Status ValidatePool(const v1::Pool& pool);

// "2xx", "200,301", "200-299" and combinations. OK or InvalidArgument naming `field`.
absl::Status ValidateExpectedCodes(absl::string_view field, absl::string_view codes);

}  // namespace anteroom::common
