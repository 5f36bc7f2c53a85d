#pragma once

// The operator's Admin API (gRPC callback API). Every call checks the bearer token and
// validates its input on the gRPC thread, then runs on the CommitLoop; writes are answered
// after they are committed.

#include <string>

#include "anteroom/v1/admin.grpc.pb.h"
#include "coordinator/bearer_auth.h"
#include "coordinator/commit_loop.h"

namespace anteroom::coordinator {

class AdminService final : public v1::Admin::CallbackService {
 public:
  // Backups are written into new directories under `backup_dir`.
  AdminService(CommitLoop& loop, RocksDbStore& store, BearerAuth auth, std::string backup_dir)
      : loop_(loop), store_(store), auth_(std::move(auth)), backup_dir_(std::move(backup_dir)) {}

  grpc::ServerUnaryReactor* CreateRoom(grpc::CallbackServerContext*, const v1::CreateRoomRequest*,
                                       v1::Room*) override;
  grpc::ServerUnaryReactor* GetRoom(grpc::CallbackServerContext*, const v1::GetRoomRequest*,
                                    v1::Room*) override;
  grpc::ServerUnaryReactor* ListRooms(grpc::CallbackServerContext*, const v1::ListRoomsRequest*,
                                      v1::ListRoomsResponse*) override;
  grpc::ServerUnaryReactor* UpdateRoom(grpc::CallbackServerContext*, const v1::UpdateRoomRequest*,
                                       v1::Room*) override;
  grpc::ServerUnaryReactor* DeleteRoom(grpc::CallbackServerContext*, const v1::DeleteRoomRequest*,
                                       v1::DeleteResponse*) override;
  grpc::ServerUnaryReactor* GetRoomStatus(grpc::CallbackServerContext*,
                                          const v1::GetRoomStatusRequest*,
                                          v1::RoomStatus*) override;
  grpc::ServerUnaryReactor* CreatePool(grpc::CallbackServerContext*, const v1::CreatePoolRequest*,
                                       v1::Pool*) override;
  grpc::ServerUnaryReactor* GetPool(grpc::CallbackServerContext*, const v1::GetPoolRequest*,
                                    v1::Pool*) override;
  grpc::ServerUnaryReactor* ListPools(grpc::CallbackServerContext*, const v1::ListPoolsRequest*,
                                      v1::ListPoolsResponse*) override;
  grpc::ServerUnaryReactor* UpdatePool(grpc::CallbackServerContext*, const v1::UpdatePoolRequest*,
                                       v1::Pool*) override;
  grpc::ServerUnaryReactor* DeletePool(grpc::CallbackServerContext*, const v1::DeletePoolRequest*,
                                       v1::DeleteResponse*) override;
  grpc::ServerUnaryReactor* GetOriginHealth(grpc::CallbackServerContext*,
                                            const v1::GetOriginHealthRequest*,
                                            v1::OriginHealthResponse*) override;
  grpc::ServerUnaryReactor* RotateKeys(grpc::CallbackServerContext*, const v1::RotateKeysRequest*,
                                       v1::RotateKeysResponse*) override;
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext*, const v1::BackupRequest*,
                                   v1::BackupResponse*) override;

 private:
  using Apply = std::function<absl::Status(CoordinatorCore&, StoreBatch&, int64_t now_ms)>;
  // Authenticates, runs `precheck` (validation) on this thread, then `apply` on the loop.
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, absl::Status precheck,
                                Apply apply);

  CommitLoop& loop_;
  RocksDbStore& store_;
  BearerAuth auth_;
  std::string backup_dir_;
};

}  // namespace anteroom::coordinator
