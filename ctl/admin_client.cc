#include "ctl/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "anteroom/v1/admin.grpc.pb.h"
#include "common/grpc_status.h"
#include "common/rendezvous_hash.h"

namespace anteroom::ctl {
namespace {

using Stub = v1::Admin::StubInterface;

class GrpcAdminClient final : public AdminApi {
 public:
  explicit GrpcAdminClient(const ConnectionOptions& options)
      : addresses_(options.addresses), token_(options.token), timeout_(options.timeout) {
    for (const std::string& address : addresses_) {
      stubs_.push_back(
          v1::Admin::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())));
    }
  }

  absl::StatusOr<v1::Room> CreateRoom(const v1::Room& room) override {
    v1::CreateRoomRequest request;
    *request.mutable_room() = room;
    return Call<v1::Room>(ShardOf(room.id()), [&](Stub& s, grpc::ClientContext* c, v1::Room* r) {
      return s.CreateRoom(c, request, r);
    });
  }

  absl::StatusOr<v1::Room> GetRoom(absl::string_view id) override {
    v1::GetRoomRequest request;
    request.set_id(std::string(id));
    return Call<v1::Room>(ShardOf(id), [&](Stub& s, grpc::ClientContext* c, v1::Room* r) {
      return s.GetRoom(c, request, r);
    });
  }

  absl::StatusOr<std::vector<v1::Room>> ListRooms() override {
    std::map<std::string, v1::Room> by_id;
    for (int shard = 0; shard < ShardCount(); ++shard) {
      auto response = Call<v1::ListRoomsResponse>(
          shard, [](Stub& s, grpc::ClientContext* c, v1::ListRoomsResponse* r) {
            return s.ListRooms(c, v1::ListRoomsRequest(), r);
          });
      if (!response.ok()) return response.status();
      for (v1::Room& room : *response->mutable_rooms()) by_id.emplace(room.id(), std::move(room));
    }
    return Values(std::move(by_id));
  }

  absl::StatusOr<v1::Room> UpdateRoom(const v1::Room& room, int64_t expected_version) override {
    v1::UpdateRoomRequest request;
    *request.mutable_room() = room;
    request.set_expected_version(expected_version);
    return Call<v1::Room>(ShardOf(room.id()), [&](Stub& s, grpc::ClientContext* c, v1::Room* r) {
      return s.UpdateRoom(c, request, r);
    });
  }

  absl::Status DeleteRoom(absl::string_view id) override {
    v1::DeleteRoomRequest request;
    request.set_id(std::string(id));
    return Call<v1::DeleteResponse>(ShardOf(id),
                                    [&](Stub& s, grpc::ClientContext* c, v1::DeleteResponse* r) {
                                      return s.DeleteRoom(c, request, r);
                                    })
        .status();
  }

  absl::StatusOr<v1::RoomStatus> GetRoomStatus(absl::string_view id) override {
    v1::GetRoomStatusRequest request;
    request.set_id(std::string(id));
    return Call<v1::RoomStatus>(ShardOf(id),
                                [&](Stub& s, grpc::ClientContext* c, v1::RoomStatus* r) {
                                  return s.GetRoomStatus(c, request, r);
                                });
  }

  // Pools are written to every shard: a room may name any pool, and its shard checks the name
  // against its own copy. The owner shard goes first and decides (existence, version); the
  // others follow unconditionally, repairing a copy that is missing or left over.
  absl::StatusOr<v1::Pool> CreatePool(const v1::Pool& pool) override {
    absl::StatusOr<v1::Pool> created = CreatePoolOn(ShardOf(pool.id()), pool);
    if (!created.ok()) return created;
    if (absl::Status s = ReplicatePool(pool); !s.ok()) return s;
    return created;
  }

  absl::StatusOr<v1::Pool> GetPool(absl::string_view id) override {
    v1::GetPoolRequest request;
    request.set_id(std::string(id));
    return Call<v1::Pool>(ShardOf(id), [&](Stub& s, grpc::ClientContext* c, v1::Pool* r) {
      return s.GetPool(c, request, r);
    });
  }

  absl::StatusOr<std::vector<v1::Pool>> ListPools() override {
    std::map<std::string, v1::Pool> by_id;
    for (int shard = 0; shard < ShardCount(); ++shard) {
      auto response = Call<v1::ListPoolsResponse>(
          shard, [](Stub& s, grpc::ClientContext* c, v1::ListPoolsResponse* r) {
            return s.ListPools(c, v1::ListPoolsRequest(), r);
          });
      if (!response.ok()) return response.status();
      for (v1::Pool& pool : *response->mutable_pools()) {
        // The owner's copy is the one that counts.
        if (ShardOf(pool.id()) == shard || !by_id.count(pool.id())) {
          by_id[pool.id()] = std::move(pool);
        }
      }
    }
    return Values(std::move(by_id));
  }

  absl::StatusOr<v1::Pool> UpdatePool(const v1::Pool& pool, int64_t expected_version) override {
    absl::StatusOr<v1::Pool> updated = UpdatePoolOn(ShardOf(pool.id()), pool, expected_version);
    if (!updated.ok()) return updated;
    if (absl::Status s = ReplicatePool(pool); !s.ok()) return s;
    return updated;
  }

  // The owner's copy goes last, so a pool still in use on some shard (FAILED_PRECONDITION)
  // stays visible to get and list.
  absl::Status DeletePool(absl::string_view id) override {
    const int owner = ShardOf(id);
    for (int shard = 0; shard < ShardCount(); ++shard) {
      if (shard == owner) continue;
      absl::Status s = DeletePoolOn(shard, id);
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
    return DeletePoolOn(owner, id);
  }

  absl::StatusOr<std::vector<v1::OriginVerdict>> GetOriginHealth(
      absl::string_view pool_id) override {
    v1::GetOriginHealthRequest request;
    request.set_pool_id(std::string(pool_id));
    auto rpc = [&](Stub& s, grpc::ClientContext* c, v1::OriginHealthResponse* r) {
      return s.GetOriginHealth(c, request, r);
    };
    // Every shard hears from the agents syncing with it, about every pool (pools are
    // replicated); keep the freshest verdict per origin.
    std::map<std::pair<std::string, std::string>, v1::OriginVerdict> latest;
    for (int shard = 0; shard < ShardCount(); ++shard) {
      auto response = Call<v1::OriginHealthResponse>(shard, rpc);
      if (!response.ok()) return response.status();
      for (v1::OriginVerdict& v : *response->mutable_origins()) {
        auto [it, inserted] = latest.try_emplace({v.pool_id(), v.origin()}, v);
        if (!inserted && v.updated_ms() > it->second.updated_ms()) it->second = std::move(v);
      }
    }
    return Values(std::move(latest));
  }

  absl::StatusOr<std::vector<v1::RotateKeysResponse>> RotateKeys() override {
    std::vector<v1::RotateKeysResponse> responses;
    for (int shard = 0; shard < ShardCount(); ++shard) {
      auto response = Call<v1::RotateKeysResponse>(
          shard, [](Stub& s, grpc::ClientContext* c, v1::RotateKeysResponse* r) {
            return s.RotateKeys(c, v1::RotateKeysRequest(), r);
          });
      if (!response.ok()) return response.status();
      responses.push_back(*std::move(response));
    }
    return responses;
  }

  absl::StatusOr<std::vector<v1::BackupResponse>> Backup() override {
    std::vector<v1::BackupResponse> responses;
    for (int shard = 0; shard < ShardCount(); ++shard) {
      auto response = Call<v1::BackupResponse>(
          shard, [](Stub& s, grpc::ClientContext* c, v1::BackupResponse* r) {
            return s.Backup(c, v1::BackupRequest(), r);
          });
      if (!response.ok()) return response.status();
      responses.push_back(*std::move(response));
    }
    return responses;
  }

 private:
  int ShardCount() const { return static_cast<int>(stubs_.size()); }

  int ShardOf(absl::string_view id) const {
    return ShardCount() == 1
               ? 0
               : common::OwnerShard(std::string_view(id.data(), id.size()), ShardCount());
  }

  absl::StatusOr<v1::Pool> CreatePoolOn(int shard, const v1::Pool& pool) {
    v1::CreatePoolRequest request;
    *request.mutable_pool() = pool;
    return Call<v1::Pool>(shard, [&](Stub& s, grpc::ClientContext* c, v1::Pool* r) {
      return s.CreatePool(c, request, r);
    });
  }

  absl::StatusOr<v1::Pool> UpdatePoolOn(int shard, const v1::Pool& pool, int64_t expected_version) {
    v1::UpdatePoolRequest request;
    *request.mutable_pool() = pool;
    request.set_expected_version(expected_version);
    return Call<v1::Pool>(shard, [&](Stub& s, grpc::ClientContext* c, v1::Pool* r) {
      return s.UpdatePool(c, request, r);
    });
  }

  absl::Status DeletePoolOn(int shard, absl::string_view id) {
    v1::DeletePoolRequest request;
    request.set_id(std::string(id));
    return Call<v1::DeleteResponse>(shard,
                                    [&](Stub& s, grpc::ClientContext* c, v1::DeleteResponse* r) {
                                      return s.DeletePool(c, request, r);
                                    })
        .status();
  }

  // Makes every shard but the owner hold `pool`.
  absl::Status ReplicatePool(const v1::Pool& pool) {
    for (int shard = 0; shard < ShardCount(); ++shard) {
      if (shard == ShardOf(pool.id())) continue;
      absl::StatusOr<v1::Pool> copy = UpdatePoolOn(shard, pool, /*expected_version=*/0);
      if (absl::IsNotFound(copy.status())) copy = CreatePoolOn(shard, pool);
      if (!copy.ok()) return copy.status();
    }
    return absl::OkStatus();
  }

  // Runs one unary call on `shard` with the deadline and the token.
  template <typename Response, typename Rpc>
  absl::StatusOr<Response> Call(int shard, const Rpc& rpc) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
    if (!token_.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token_));
    Response response;
    grpc::Status status = rpc(*stubs_[shard], &context, &response);
    if (status.ok()) return response;
    absl::Status error = common::FromGrpcStatus(status);
    if (ShardCount() == 1) return error;
    return absl::Status(error.code(), absl::StrCat("shard ", shard, " (", addresses_[shard],
                                                   "): ", error.message()));
  }

  template <typename Key, typename Value>
  static std::vector<Value> Values(std::map<Key, Value> map) {
    std::vector<Value> values;
    values.reserve(map.size());
    for (auto& [key, value] : map) values.push_back(std::move(value));
    return values;
  }

  std::vector<std::string> addresses_;
  std::string token_;
  absl::Duration timeout_;
  std::vector<std::unique_ptr<Stub>> stubs_;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseCoordinatorList(absl::string_view source,
                                                              absl::string_view text) {
  std::vector<std::string> addresses;
  for (absl::string_view entry : absl::StrSplit(text, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    // Full gRPC targets ("dns:///svc:7400", "unix:/run/anteroom.sock") pass through.
    if (absl::StrContains(entry, ":/")) {
      addresses.emplace_back(entry);
      continue;
    }
    size_t colon = entry.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": expected HOST:PORT[,HOST:PORT...], got '", entry, "' in '", text, "'"));
    }
    addresses.emplace_back(entry);
  }
  return addresses;
}

std::unique_ptr<AdminApi> NewGrpcAdminClient(const ConnectionOptions& options) {
  return std::make_unique<GrpcAdminClient>(options);
}

}  // namespace anteroom::ctl
