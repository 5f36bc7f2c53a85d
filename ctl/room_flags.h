#pragma once

// The flags of `room create` and `room update`: one or more per v1::Room field.
//
// A flag sets its field and nothing else, so the same code serves create (applied to an empty
// Room) and update (applied to the stored Room, read-modify-write). For list fields:
//   - --route (and the --host/--path pair, which form one route) and --pool replace the list
//     when given; an empty value ("--pool=") contributes nothing, so "--pool=" clears it.
//   - bypass rules are replaced kind by kind: --bypass-path replaces the path rules and leaves
//     the header, CIDR and signed-token rules alone; --bypass-signed-token=false removes that
//     rule.
//   - event overrides: 0 (or an empty page template file) removes the override.
// --from-file FILE (a Room in YAML, as common/yaml_proto.h reads it) is applied first and
// replaces every setting; the other flags then change what they name.

#include <vector>

#include "absl/status/status.h"
#include "anteroom/v1/room.pb.h"
#include "ctl/flag_parser.h"

namespace anteroom::ctl {

// Every room flag. The names are stable: scripts use them.
const std::vector<FlagSpec>& RoomFlagSpecs();

// Sets on `room` the fields named by the room flags present in `args`; flags that are not
// room flags are ignored. Reads the files named by --from-file, --page-template-file and
// --event-page-template-file. The id, version and timestamps of `room` are kept; a file naming
// another id is an error.
// Errors: InvalidArgument "--<flag>: <why>" for the first bad value. On error `room` may hold
// some of the changes; callers discard it.
// REQUIRES: room != nullptr.
absl::Status ApplyRoomFlags(const ParsedArgs& args, v1::Room* room);

// common::ValidateRoom, with the error prefixed by the flag that set the offending field when
// that flag is in `args` ("--bypass-cidr: room.bypass[0].client_cidr: prefix length ...").
absl::Status ValidateRoomFromFlags(const v1::Room& room, const ParsedArgs& args);

// A room error (from ValidateRoom or the coordinator), prefixed as above; other errors and
// OK pass unchanged.
absl::Status RoomErrorToFlag(const absl::Status& status, const ParsedArgs& args);

}  // namespace anteroom::ctl
