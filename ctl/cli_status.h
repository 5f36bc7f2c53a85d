#pragma once

// How anteroomctl tells a mistake on the command line (exit 2) from a failed call (exit 1).
// Both travel as absl::Status; a usage error carries a payload that marks it.

#include "absl/status/status.h"

namespace anteroom::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // The server (or the network) said no.
inline constexpr int kExitUsage = 2;   // Bad flag, bad value, invalid room or pool.

// `status` marked as the operator's mistake. OK stays OK.
absl::Status UsageError(absl::Status status);
bool IsUsageError(const absl::Status& status);

// kExitOk, kExitUsage for a usage error, kExitFailed otherwise.
int ExitCode(const absl::Status& status);

}  // namespace anteroom::ctl
