#pragma once

// What a command handler gets: its parsed flags and operands, the API and where to write.
// Handlers return OK, a UsageError (ctl/cli_status.h) for the operator's mistakes, or the
// API's error unchanged.

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ctl/admin_api.h"
#include "ctl/flag_parser.h"
#include "ctl/format.h"

namespace anteroom::ctl {

struct Invocation {
  const ParsedArgs& args;
  // Positional arguments after the command words, e.g. {"shop"} for "room get shop". The
  // dispatcher has already checked their number.
  const std::vector<std::string>& operands;
  AdminApi& api;
  OutputFormat format;
  std::ostream& out;
};

using CommandHandler = absl::Status (*)(const Invocation& invocation);

}  // namespace anteroom::ctl
