#include "agent/failover/origin_state.h"

#include "absl/strings/str_cat.h"

namespace anteroom::agent {

std::string OriginFailureText(OriginFailure failure, int status) {
  switch (failure) {
    case OriginFailure::kNone:
      return "";
    case OriginFailure::kConnect:
      return "connect";
    case OriginFailure::kTimeout:
      return "timeout";
    case OriginFailure::kStatus:
      return absl::StrCat("status ", status);
    case OriginFailure::kBody:
      return "body";
    case OriginFailure::kTls:
      return "tls";
    case OriginFailure::kProtocol:
      return "protocol";
    case OriginFailure::kPassive:
      return "passive";
  }
  return "unknown";
}

}  // namespace anteroom::agent
