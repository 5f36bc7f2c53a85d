#pragma once

// The `pool` and `health` commands. As with rooms, bad flags and invalid pools are usage
// errors caught before any call.

#include "absl/status/status.h"
#include "ctl/invocation.h"

namespace anteroom::ctl {

// pool create ID --origin ADDR:PORT [...] [pool flags] (or --from-file with the origins).
// Prints the pool as created.
absl::Status PoolCreate(const Invocation& invocation);
// pool get ID
absl::Status PoolGet(const Invocation& invocation);
// pool list
absl::Status PoolList(const Invocation& invocation);
// pool update ID [pool flags]: read-modify-write with expected_version, retried on ABORTED
// up to 3 times in all, as room update.
absl::Status PoolUpdate(const Invocation& invocation);
// pool delete ID
absl::Status PoolDelete(const Invocation& invocation);
// health [--pool ID]: the coordinator's majority verdict per origin.
absl::Status Health(const Invocation& invocation);

}  // namespace anteroom::ctl
