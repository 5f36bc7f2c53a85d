#pragma once

// Checks a call's bearer token ("authorization: Bearer <token>" metadata): the Admin API's
// token, and the agents' Sync token when the operator sets one.

#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/status.h"

namespace anteroom::coordinator {

class BearerAuth {
 public:
  // REQUIRES: !token.empty().
  explicit BearerAuth(std::string token) : token_(std::move(token)) {}

  // OK, or Unauthenticated saying whether the token was missing or wrong. Compares in
  // constant time.
  absl::Status Check(const grpc::CallbackServerContext& context) const;

 private:
  std::string token_;
};

}  // namespace anteroom::coordinator
