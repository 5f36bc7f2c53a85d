#include "coordinator/bearer_auth.h"

#include <openssl/crypto.h>

#include <string_view>

namespace anteroom::coordinator {

absl::Status BearerAuth::Check(const grpc::CallbackServerContext& context) const {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("missing 'authorization: Bearer <token>' metadata");
  }
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kPrefix = "Bearer ";
  if (value.substr(0, kPrefix.size()) != kPrefix) {
    return absl::UnauthenticatedError("authorization metadata is not a Bearer token");
  }
  value.remove_prefix(kPrefix.size());
  if (value.size() != token_.size() ||
      CRYPTO_memcmp(value.data(), token_.data(), token_.size()) != 0) {
    return absl::UnauthenticatedError("invalid bearer token");
  }
  return absl::OkStatus();
}

}  // namespace anteroom::coordinator
