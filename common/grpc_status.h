#pragma once

// The one place absl::Status and grpc::Status are converted.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace anteroom::common {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace anteroom::common
