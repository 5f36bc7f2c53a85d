#pragma once

// Process-wide logging setup. Code logs through spdlog's default logger (spdlog::info(...));
// this sets that logger once at startup.

#include <string_view>

#include "absl/status/status.h"

namespace anteroom::common {

// Makes spdlog's default logger write to stderr, one line per message:
//   2024-05-01T12:00:00.123+00:00 info coordinator: message
// `level` is one of trace, debug, info, warn, error, off (any case); "" means info, the
// default of the config files' log_level. `component` names the daemon in every line.
// Returns InvalidArgument naming `level` and the accepted levels; the previous logger then
// stays in place. Call from main before starting threads that log (spdlog swaps the default
// logger atomically, but lines already being written go to the old one).
absl::Status InitLogging(std::string_view level, std::string_view component);

}  // namespace anteroom::common
