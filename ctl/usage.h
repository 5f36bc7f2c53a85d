#pragma once

// anteroomctl's help text. Each string ends in '\n'.

#include <string>

#include "absl/strings/string_view.h"

namespace anteroom::ctl {

// The commands, the global flags and the exit codes.
std::string TopUsage();

// The usage of one group ("room", "pool", "health", "keys", "backup") with its flags, or
// TopUsage() for an unknown group.
std::string GroupUsage(absl::string_view group);

}  // namespace anteroom::ctl
