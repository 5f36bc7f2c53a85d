#pragma once

// Commands about the coordinator itself rather than one room or pool. Both act on every
// shard; JSON output is the shard's response object with one shard, an array with several.

#include "absl/status/status.h"
#include "ctl/invocation.h"

namespace anteroom::ctl {

// keys rotate: makes a new signing key current; prints its id and the ids still accepted.
absl::Status KeysRotate(const Invocation& invocation);
// backup: writes a RocksDB checkpoint on the coordinator's disk; prints where.
absl::Status Backup(const Invocation& invocation);

}  // namespace anteroom::ctl
