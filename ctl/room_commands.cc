#include "ctl/room_commands.h"

#include "absl/strings/str_cat.h"
#include "common/room_validation.h"
#include "ctl/cli_status.h"
#include "ctl/room_flags.h"
#include "ctl/room_output.h"
#include "ctl/value_parsers.h"

namespace anteroom::ctl {
namespace {

constexpr int kUpdateAttempts = 3;

absl::StatusOr<std::string> RoomId(const Invocation& invocation) {
  const std::string& id = invocation.operands.at(0);
  if (absl::Status s = common::ValidateId("room ID", id); !s.ok()) return UsageError(s);
  return id;
}

bool AnyRoomFlag(const ParsedArgs& args) {
  for (const FlagSpec& spec : RoomFlagSpecs()) {
    if (args.Has(spec.name)) return true;
  }
  return false;
}

}  // namespace

absl::Status RoomCreate(const Invocation& invocation) {
  for (const char* required : {"total-active-users", "new-users-per-minute"}) {
    if (!invocation.args.Has(required) && !invocation.args.Has("from-file")) {
      return UsageError(FlagError(required, "required by room create"));
    }
  }
  v1::Room room;
  room.set_id(invocation.operands.at(0));
  if (absl::Status s = ApplyRoomFlags(invocation.args, &room); !s.ok()) return UsageError(s);
  if (absl::Status s = ValidateRoomFromFlags(room, invocation.args); !s.ok()) {
    return UsageError(s);
  }
  absl::StatusOr<v1::Room> created = invocation.api.CreateRoom(room);
  if (!created.ok()) return RoomErrorToFlag(created.status(), invocation.args);
  PrintRoom(*created, invocation.format, invocation.out);
  return absl::OkStatus();
}

absl::Status RoomGet(const Invocation& invocation) {
  absl::StatusOr<std::string> id = RoomId(invocation);
  if (!id.ok()) return id.status();
  absl::StatusOr<v1::Room> room = invocation.api.GetRoom(*id);
  if (!room.ok()) return room.status();
  PrintRoom(*room, invocation.format, invocation.out);
  return absl::OkStatus();
}

absl::Status RoomList(const Invocation& invocation) {
  absl::StatusOr<std::vector<v1::Room>> rooms = invocation.api.ListRooms();
  if (!rooms.ok()) return rooms.status();
  PrintRooms(*rooms, invocation.format, invocation.out);
  return absl::OkStatus();
}

absl::Status RoomUpdate(const Invocation& invocation) {
  absl::StatusOr<std::string> id = RoomId(invocation);
  if (!id.ok()) return id.status();
  if (!AnyRoomFlag(invocation.args)) {
    return UsageError(
        absl::InvalidArgumentError("room update: no room flags given, nothing to change"));
  }
  // Bad values are the operator's mistake whatever the stored room holds: check them before
  // any call.
  v1::Room scratch;
  if (absl::Status s = ApplyRoomFlags(invocation.args, &scratch); !s.ok()) return UsageError(s);

  absl::Status last;
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    absl::StatusOr<v1::Room> room = invocation.api.GetRoom(*id);
    if (!room.ok()) return room.status();
    int64_t version = room->version();
    if (absl::Status s = ApplyRoomFlags(invocation.args, &*room); !s.ok()) return UsageError(s);
    if (absl::Status s = ValidateRoomFromFlags(*room, invocation.args); !s.ok()) {
      return UsageError(s);
    }
    absl::StatusOr<v1::Room> updated = invocation.api.UpdateRoom(*room, version);
    if (updated.ok()) {
      PrintRoom(*updated, invocation.format, invocation.out);
      return absl::OkStatus();
    }
    last = RoomErrorToFlag(updated.status(), invocation.args);
    if (!absl::IsAborted(last)) break;
  }
  return last;
}

absl::Status RoomDelete(const Invocation& invocation) {
  absl::StatusOr<std::string> id = RoomId(invocation);
  if (!id.ok()) return id.status();
  if (absl::Status s = invocation.api.DeleteRoom(*id); !s.ok()) return s;
  if (invocation.format == OutputFormat::kJson) {
    invocation.out << "{\n \"id\": \"" << *id << "\",\n \"deleted\": true\n}\n";
  } else {
    invocation.out << "room " << *id << " deleted\n";
  }
  return absl::OkStatus();
}

absl::Status RoomStatus(const Invocation& invocation) {
  absl::StatusOr<std::string> id = RoomId(invocation);
  if (!id.ok()) return id.status();
  absl::StatusOr<v1::RoomStatus> status = invocation.api.GetRoomStatus(*id);
  if (!status.ok()) return status.status();
  PrintRoomStatus(*status, invocation.format, invocation.out);
  return absl::OkStatus();
}

}  // namespace anteroom::ctl
