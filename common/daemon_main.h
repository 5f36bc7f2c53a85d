#pragma once

// The start and end every Anteroom daemon shares: configuration from flags, ANTEROOM_*
// environment variables and a YAML file; --help; --print-config (secrets redacted); logging;
// and a stop flag raised by SIGTERM or SIGINT so the daemon can drain in order.

#include <atomic>
#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace anteroom::common {

struct DaemonHooks {
  // Fills defaults and checks the loaded configuration (errors name the flag).
  std::function<absl::Status(google::protobuf::Message& config)> resolve;
  // Serves until `stop` becomes true.
  std::function<absl::Status(const google::protobuf::Message& config,
                             const std::atomic<bool>& stop)>
      run;
};

// Returns the process exit code: 0 after a clean stop, 1 when `run` failed, 2 for bad
// configuration. `config` must have string fields log_level and bool print_config.
int DaemonMain(int argc, char** argv, std::string_view name, google::protobuf::Message& config,
               const DaemonHooks& hooks);

}  // namespace anteroom::common
