#pragma once

// What anteroomctl needs from the Admin API, one method per RPC. The commands see only this
// interface, so they are tested against a fake; GrpcAdminClient (ctl/admin_client.h) is the
// real one.
//
// Every method returns the server's status unchanged on failure (NOT_FOUND, ABORTED,
// UNAUTHENTICATED, INVALID_ARGUMENT, UNAVAILABLE, DEADLINE_EXCEEDED, ...). Implementations
// need not be thread-safe: anteroomctl makes one call at a time.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "anteroom/v1/admin.pb.h"

namespace anteroom::ctl {

class AdminApi {
 public:
  virtual ~AdminApi() = default;

  virtual absl::StatusOr<v1::Room> CreateRoom(const v1::Room& room) = 0;
  virtual absl::StatusOr<v1::Room> GetRoom(absl::string_view id) = 0;
  // Every room on every shard, sorted by id.
  virtual absl::StatusOr<std::vector<v1::Room>> ListRooms() = 0;
  // expected_version 0 skips the version check; otherwise a mismatch is ABORTED.
  virtual absl::StatusOr<v1::Room> UpdateRoom(const v1::Room& room, int64_t expected_version) = 0;
  virtual absl::Status DeleteRoom(absl::string_view id) = 0;
  virtual absl::StatusOr<v1::RoomStatus> GetRoomStatus(absl::string_view id) = 0;

  virtual absl::StatusOr<v1::Pool> CreatePool(const v1::Pool& pool) = 0;
  virtual absl::StatusOr<v1::Pool> GetPool(absl::string_view id) = 0;
  // Every pool on every shard, sorted by id.
  virtual absl::StatusOr<std::vector<v1::Pool>> ListPools() = 0;
  virtual absl::StatusOr<v1::Pool> UpdatePool(const v1::Pool& pool, int64_t expected_version) = 0;
  virtual absl::Status DeletePool(absl::string_view id) = 0;

  // The verdicts for one pool, or for all pools when pool_id is empty.
  virtual absl::StatusOr<std::vector<v1::OriginVerdict>> GetOriginHealth(
      absl::string_view pool_id) = 0;
  // Shard-wide operations: one response per shard, in shard order.
  virtual absl::StatusOr<std::vector<v1::RotateKeysResponse>> RotateKeys() = 0;
  virtual absl::StatusOr<std::vector<v1::BackupResponse>> Backup() = 0;
};

}  // namespace anteroom::ctl
