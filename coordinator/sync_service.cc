#include "coordinator/sync_service.h"

#include <chrono>

#include "common/grpc_status.h"
#include "coordinator/sync_validation.h"

namespace anteroom::coordinator {

grpc::ServerUnaryReactor* SyncService::Sync(grpc::CallbackServerContext* context,
                                            const v1::SyncRequest* request,
                                            v1::SyncResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto start = std::chrono::steady_clock::now();
  absl::Status checked = auth_ ? auth_->Check(*context) : absl::OkStatus();
  if (checked.ok()) checked = ValidateSyncRequest(*request, clock_.NowMs());
  if (!checked.ok()) {
    if (metrics_.rejected) metrics_.rejected->Increment();
    reactor->Finish(common::ToGrpcStatus(checked));
    return reactor;
  }
  loop_.Submit(CommitLoop::Work{
      .apply = [request, response](
                   CoordinatorCore& core, StoreBatch& batch,
                   int64_t now) { return core.ApplySync(*request, now, response, batch); },
      .done =
          [this, reactor, start](absl::Status s) {
            if (metrics_.latency_seconds) {
              metrics_.latency_seconds->Observe(
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            }
            if (!s.ok() && metrics_.rejected) metrics_.rejected->Increment();
            reactor->Finish(common::ToGrpcStatus(s));
          },
  });
  return reactor;
}

}  // namespace anteroom::coordinator
