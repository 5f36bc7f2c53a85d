#pragma once

// Checks the Admin API's bearer token ("authorization: Bearer <token>" metadata).

#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/status.h"

namespace anteroom::coordinator {

class AdminAuth {
 public:
  // REQUIRES: !token.empty().
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}

  // OK, or Unauthenticated saying whether the token was missing or wrong. Compares in
  // constant time.
  absl::Status Check(const grpc::CallbackServerContext& context) const;

 private:
  std::string token_;
};

}  // namespace anteroom::coordinator
