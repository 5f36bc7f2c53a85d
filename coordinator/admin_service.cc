#include "coordinator/admin_service.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/room_validation.h"

namespace anteroom::coordinator {
namespace {

template <typename T>
absl::Status Assign(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = *std::move(result);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::Run(grpc::CallbackServerContext* context,
                                            absl::Status precheck, Apply apply) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status s = auth_.Check(*context);
  if (s.ok()) s = precheck;
  if (!s.ok()) {
    reactor->Finish(common::ToGrpcStatus(s));
    return reactor;
  }
  loop_.Submit(CommitLoop::Work{
      .apply = std::move(apply),
      .done = [reactor](absl::Status st) { reactor->Finish(common::ToGrpcStatus(st)); },
  });
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::CreateRoom(grpc::CallbackServerContext* c,
                                                   const v1::CreateRoomRequest* req,
                                                   v1::Room* out) {
  return Run(c, common::ValidateRoom(req->room()),
             [req, out](CoordinatorCore& core, StoreBatch& batch, int64_t now) {
               return Assign(core.CreateRoom(req->room(), now, batch), out);
             });
}

grpc::ServerUnaryReactor* AdminService::GetRoom(grpc::CallbackServerContext* c,
                                                const v1::GetRoomRequest* req, v1::Room* out) {
  return Run(c, common::ValidateId("id", req->id()),
             [req, out](CoordinatorCore& core, StoreBatch&, int64_t) {
               return Assign(core.GetRoom(req->id()), out);
             });
}

grpc::ServerUnaryReactor* AdminService::ListRooms(grpc::CallbackServerContext* c,
                                                  const v1::ListRoomsRequest*,
                                                  v1::ListRoomsResponse* out) {
  return Run(c, absl::OkStatus(), [out](CoordinatorCore& core, StoreBatch&, int64_t) {
    for (v1::Room& r : core.ListRooms()) *out->add_rooms() = std::move(r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::UpdateRoom(grpc::CallbackServerContext* c,
                                                   const v1::UpdateRoomRequest* req,
                                                   v1::Room* out) {
  absl::Status pre = common::ValidateRoom(req->room());
  if (pre.ok() && req->expected_version() < 0) {
    pre = absl::InvalidArgumentError("expected_version: must not be negative");
  }
  return Run(c, pre, [req, out](CoordinatorCore& core, StoreBatch& batch, int64_t now) {
    return Assign(core.UpdateRoom(req->room(), req->expected_version(), now, batch), out);
  });
}

grpc::ServerUnaryReactor* AdminService::DeleteRoom(grpc::CallbackServerContext* c,
                                                   const v1::DeleteRoomRequest* req,
                                                   v1::DeleteResponse*) {
  return Run(c, common::ValidateId("id", req->id()),
             [req](CoordinatorCore& core, StoreBatch& batch, int64_t) {
               return core.DeleteRoom(req->id(), batch);
             });
}

grpc::ServerUnaryReactor* AdminService::GetRoomStatus(grpc::CallbackServerContext* c,
                                                      const v1::GetRoomStatusRequest* req,
                                                      v1::RoomStatus* out) {
  return Run(c, common::ValidateId("id", req->id()),
             [req, out](CoordinatorCore& core, StoreBatch&, int64_t now) {
               return Assign(core.RoomStatus(req->id(), now), out);
             });
}

grpc::ServerUnaryReactor* AdminService::CreatePool(grpc::CallbackServerContext* c,
                                                   const v1::CreatePoolRequest* req,
                                                   v1::Pool* out) {
  return Run(c, common::ValidatePool(req->pool()),
             [req, out](CoordinatorCore& core, StoreBatch& batch, int64_t) {
               return Assign(core.CreatePool(req->pool(), batch), out);
             });
}

grpc::ServerUnaryReactor* AdminService::GetPool(grpc::CallbackServerContext* c,
                                                const v1::GetPoolRequest* req, v1::Pool* out) {
  return Run(c, common::ValidateId("id", req->id()),
             [req, out](CoordinatorCore& core, StoreBatch&, int64_t) {
               return Assign(core.GetPool(req->id()), out);
             });
}

grpc::ServerUnaryReactor* AdminService::ListPools(grpc::CallbackServerContext* c,
                                                  const v1::ListPoolsRequest*,
                                                  v1::ListPoolsResponse* out) {
  return Run(c, absl::OkStatus(), [out](CoordinatorCore& core, StoreBatch&, int64_t) {
    for (v1::Pool& p : core.ListPools()) *out->add_pools() = std::move(p);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::UpdatePool(grpc::CallbackServerContext* c,
                                                   const v1::UpdatePoolRequest* req,
                                                   v1::Pool* out) {
  absl::Status pre = common::ValidatePool(req->pool());
  if (pre.ok() && req->expected_version() < 0) {
    pre = absl::InvalidArgumentError("expected_version: must not be negative");
  }
  return Run(c, pre, [req, out](CoordinatorCore& core, StoreBatch& batch, int64_t) {
    return Assign(core.UpdatePool(req->pool(), req->expected_version(), batch), out);
  });
}

grpc::ServerUnaryReactor* AdminService::DeletePool(grpc::CallbackServerContext* c,
                                                   const v1::DeletePoolRequest* req,
                                                   v1::DeleteResponse*) {
  return Run(c, common::ValidateId("id", req->id()),
             [req](CoordinatorCore& core, StoreBatch& batch, int64_t) {
               return core.DeletePool(req->id(), batch);
             });
}

grpc::ServerUnaryReactor* AdminService::GetOriginHealth(grpc::CallbackServerContext* c,
                                                        const v1::GetOriginHealthRequest* req,
                                                        v1::OriginHealthResponse* out) {
  absl::Status pre =
      req->pool_id().empty() ? absl::OkStatus() : common::ValidateId("pool_id", req->pool_id());
  return Run(c, pre, [req, out](CoordinatorCore& core, StoreBatch&, int64_t now) {
    for (v1::OriginVerdict& v : core.OriginHealth(req->pool_id(), now)) {
      *out->add_origins() = std::move(v);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::RotateKeys(grpc::CallbackServerContext* c,
                                                   const v1::RotateKeysRequest*,
                                                   v1::RotateKeysResponse* out) {
  return Run(c, absl::OkStatus(), [out](CoordinatorCore& core, StoreBatch& batch, int64_t now) {
    *out = core.RotateKeys(now, batch);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminService::Backup(grpc::CallbackServerContext* c,
                                               const v1::BackupRequest*, v1::BackupResponse* out) {
  // On the loop, so the checkpoint holds every write acknowledged before it.
  return Run(c, absl::OkStatus(), [this, out](CoordinatorCore&, StoreBatch&, int64_t now) {
    std::error_code ec;
    std::filesystem::create_directories(backup_dir_, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot create ", backup_dir_, ": ", ec.message()));
    }
    const std::string path = absl::StrCat(backup_dir_, "/anteroom-", now);
    if (absl::Status s = store_.Checkpoint(path); !s.ok()) return s;
    out->set_path(path);
    out->set_created_unix(now / 1000);
    return absl::OkStatus();
  });
}

}  // namespace anteroom::coordinator
