#pragma once

// An in-memory AdminApi for CLI tests: stores rooms and pools with versions like the
// coordinator, records what it was asked, and can be told to fail.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ctl/admin_api.h"

namespace anteroom::ctl::fakes {

// What the fake stores and records; shared, so the test keeps it after the CLI drops the API.
struct FakeAdminState {
  std::map<std::string, v1::Room> rooms;
  std::map<std::string, v1::Pool> pools;
  std::vector<int64_t> update_expected_versions;
  int calls = 0;
  // When set, every call fails with it.
  absl::Status fail_with;
  // The next N UpdateRoom/UpdatePool calls fail with ABORTED after bumping the version, as if
  // someone else wrote in between.
  int abort_updates = 0;
  v1::RoomStatus status;
  std::vector<v1::OriginVerdict> verdicts;
  std::string last_health_pool = "<unset>";
};

class FakeAdminApi : public AdminApi {
 public:
  explicit FakeAdminApi(std::shared_ptr<FakeAdminState> state) : s_(std::move(state)) {}

  absl::StatusOr<v1::Room> CreateRoom(const v1::Room& room) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    if (s_->rooms.count(room.id())) return absl::AlreadyExistsError("room exists");
    v1::Room stored = room;
    stored.set_version(1);
    return s_->rooms[room.id()] = stored;
  }
  absl::StatusOr<v1::Room> GetRoom(absl::string_view id) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = s_->rooms.find(std::string(id));
    if (it == s_->rooms.end())
      return absl::NotFoundError(absl::StrCat("room '", id, "' not found"));
    return it->second;
  }
  absl::StatusOr<std::vector<v1::Room>> ListRooms() override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    std::vector<v1::Room> list;
    for (const auto& [id, room] : s_->rooms) list.push_back(room);
    return list;
  }
  absl::StatusOr<v1::Room> UpdateRoom(const v1::Room& room, int64_t expected_version) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    s_->update_expected_versions.push_back(expected_version);
    auto it = s_->rooms.find(room.id());
    if (it == s_->rooms.end()) return absl::NotFoundError("room not found");
    if (s_->abort_updates > 0) {
      --s_->abort_updates;
      it->second.set_version(it->second.version() + 1);
      return absl::AbortedError("version changed");
    }
    if (expected_version != 0 && expected_version != it->second.version()) {
      return absl::AbortedError("version mismatch");
    }
    v1::Room stored = room;
    stored.set_version(it->second.version() + 1);
    return it->second = stored;
  }
  absl::Status DeleteRoom(absl::string_view id) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    if (s_->rooms.erase(std::string(id)) == 0) return absl::NotFoundError("room not found");
    return absl::OkStatus();
  }
  absl::StatusOr<v1::RoomStatus> GetRoomStatus(absl::string_view id) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    v1::RoomStatus result = s_->status;
    result.set_id(std::string(id));
    return result;
  }

  absl::StatusOr<v1::Pool> CreatePool(const v1::Pool& pool) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    v1::Pool stored = pool;
    stored.set_version(1);
    return s_->pools[pool.id()] = stored;
  }
  absl::StatusOr<v1::Pool> GetPool(absl::string_view id) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    auto it = s_->pools.find(std::string(id));
    if (it == s_->pools.end()) return absl::NotFoundError("pool not found");
    return it->second;
  }
  absl::StatusOr<std::vector<v1::Pool>> ListPools() override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    std::vector<v1::Pool> list;
    for (const auto& [id, pool] : s_->pools) list.push_back(pool);
    return list;
  }
  absl::StatusOr<v1::Pool> UpdatePool(const v1::Pool& pool, int64_t expected_version) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    s_->update_expected_versions.push_back(expected_version);
    auto it = s_->pools.find(pool.id());
    if (it == s_->pools.end()) return absl::NotFoundError("pool not found");
    if (s_->abort_updates > 0) {
      --s_->abort_updates;
      it->second.set_version(it->second.version() + 1);
      return absl::AbortedError("version changed");
    }
    v1::Pool stored = pool;
    stored.set_version(it->second.version() + 1);
    return it->second = stored;
  }
  absl::Status DeletePool(absl::string_view id) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    if (s_->pools.erase(std::string(id)) == 0) return absl::NotFoundError("pool not found");
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<v1::OriginVerdict>> GetOriginHealth(
      absl::string_view pool_id) override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    s_->last_health_pool = std::string(pool_id);
    return s_->verdicts;
  }
  absl::StatusOr<std::vector<v1::RotateKeysResponse>> RotateKeys() override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    v1::RotateKeysResponse response;
    response.set_current_key_id("k2");
    response.add_accepted_key_ids("k2");
    response.add_accepted_key_ids("k1");
    return std::vector<v1::RotateKeysResponse>{response};
  }
  absl::StatusOr<std::vector<v1::BackupResponse>> Backup() override {
    if (absl::Status s = Enter(); !s.ok()) return s;
    v1::BackupResponse response;
    response.set_path("/data/backups/1");
    response.set_created_unix(1796119200);
    return std::vector<v1::BackupResponse>{response};
  }

 private:
  std::shared_ptr<FakeAdminState> s_;

  absl::Status Enter() {
    ++s_->calls;
    return s_->fail_with;
  }
};

}  // namespace anteroom::ctl::fakes
