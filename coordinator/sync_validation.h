#pragma once

// Checks a SyncRequest from the network before anything of it is applied, so a bad request
// changes nothing. Errors are InvalidArgument naming the field path, e.g.
// "rooms[0].arrivals[2].count: must be between 0 and 1000000 (got -1)".

#include <cstdint>

#include "absl/status/status.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::coordinator {

absl::Status ValidateSyncRequest(const v1::SyncRequest& request, int64_t now_ms);

}  // namespace anteroom::coordinator
