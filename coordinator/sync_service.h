#pragma once

// The agents' Sync RPC (gRPC callback API). Checks the Sync token (when the operator set one)
// and validates on the gRPC thread, applies on the CommitLoop, and answers after the group
// commit.

#include <optional>

#include "anteroom/v1/sync.grpc.pb.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "coordinator/bearer_auth.h"
#include "coordinator/commit_loop.h"

namespace anteroom::coordinator {

class SyncService final : public v1::Coordinator::CallbackService {
 public:
  struct Metrics {
    common::Histogram* latency_seconds = nullptr;
    common::Counter* rejected = nullptr;
  };

  // Without `auth`, any caller may Sync.
  SyncService(CommitLoop& loop, const common::Clock& clock, std::optional<BearerAuth> auth,
              Metrics metrics)
      : loop_(loop), clock_(clock), auth_(std::move(auth)), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override;

 private:
  CommitLoop& loop_;
  const common::Clock& clock_;
  const std::optional<BearerAuth> auth_;
  Metrics metrics_;
};

}  // namespace anteroom::coordinator
