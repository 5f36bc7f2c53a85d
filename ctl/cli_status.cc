#include "ctl/cli_status.h"

#include "absl/strings/cord.h"

namespace anteroom::ctl {
namespace {

constexpr char kUsagePayload[] = "anteroom.dev/ctl-usage-error";

}  // namespace

absl::Status UsageError(absl::Status status) {
  if (!status.ok()) status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return IsUsageError(status) ? kExitUsage : kExitFailed;
}

}  // namespace anteroom::ctl
