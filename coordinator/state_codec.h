#pragma once

// Conversions between the engine's in-memory room state and its persisted records, and the
// byte encodings of RocksDB keys (see rocksdb_store.h for the layout).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "anteroom/v1/state.pb.h"
#include "coordinator/room_state.h"

namespace anteroom::coordinator {

v1::RoomCoreRecord EncodeCore(const RoomCore& core);
RoomCore DecodeCore(const v1::RoomCoreRecord& record);
v1::LeaseRecord EncodeLease(const std::string& agent_id, const Lease& lease);
Lease DecodeLease(const v1::LeaseRecord& record);
v1::BucketRecord EncodeBucket(const BucketState& bucket);
BucketState DecodeBucket(const v1::BucketRecord& record);
v1::RevocationRecord EncodeRevocation(const Revocation& revocation);
Revocation DecodeRevocation(const v1::RevocationRecord& record);

// room_id, 0x00, then the integer as 8 big-endian bytes with the sign bit flipped, so that
// byte order is numeric order and one room's keys are contiguous.
std::string RoomIntKey(const std::string& room_id, int64_t value);
// The [begin, end) range holding every RoomIntKey of `room_id`.
std::string RoomRangeBegin(const std::string& room_id);
std::string RoomRangeEnd(const std::string& room_id);
// Splits a RoomIntKey. InvalidArgument when the key is not of that shape.
absl::Status ParseRoomIntKey(std::string_view key, std::string* room_id, int64_t* value);
// room_id, 0x00, name: one room's records by name (agent ids), contiguous per room.
std::string RoomNameKey(const std::string& room_id, const std::string& name);
absl::Status ParseRoomNameKey(std::string_view key, std::string* room_id, std::string* name);

std::string EncodeFixed64(int64_t value);
absl::StatusOr<int64_t> DecodeFixed64(std::string_view bytes);

}  // namespace anteroom::coordinator
