#pragma once

// The flags of `pool create` and `pool update`: one or more per v1::Pool field.
//
// As with rooms, a flag sets its field and nothing else. --origin and --monitor-header replace
// their list (or map) when given; an empty value contributes nothing, so "--monitor-header="
// clears the headers. --from-file FILE (a Pool in YAML) is applied first and replaces every
// setting; the other flags then change what they name.
//
// Note: in pool commands --interval and --timeout are the health probe's; the RPC deadline
// there is --rpc-timeout.

#include <vector>

#include "absl/status/status.h"
#include "anteroom/v1/pool.pb.h"
#include "ctl/flag_parser.h"

namespace anteroom::ctl {

// Every pool flag. The names are stable: scripts use them.
const std::vector<FlagSpec>& PoolFlagSpecs();

// Sets on `pool` the fields named by the pool flags present in `args`; other flags are
// ignored. --origin takes "ADDR:PORT[,weight=N][,disabled|,enabled][,name=NAME]" where ADDR is a
// host name, an IPv4 address or a bracketed IPv6 address ("[2001:db8::1]:8080").
// Errors: InvalidArgument "--<flag>: <why>" for the first bad value. On error `pool` may hold
// some of the changes; callers discard it.
// REQUIRES: pool != nullptr.
absl::Status ApplyPoolFlags(const ParsedArgs& args, v1::Pool* pool);

// common::ValidatePool, with the error prefixed by the flag that set the offending field when
// that flag is in `args`.
absl::Status ValidatePoolFromFlags(const v1::Pool& pool, const ParsedArgs& args);

// A pool error (from ValidatePool or the coordinator), prefixed as above; other errors and
// OK pass unchanged.
absl::Status PoolErrorToFlag(const absl::Status& status, const ParsedArgs& args);

}  // namespace anteroom::ctl
