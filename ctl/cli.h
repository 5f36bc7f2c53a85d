#pragma once

// anteroomctl from argv to exit code: finds the command, parses its flags, resolves the
// connection (flags, then ANTEROOM_* environment, then defaults), runs the handler and
// reports errors as "anteroomctl: <message>" (usage errors, exit 2) or
// "anteroomctl: <CODE>: <message>" (failed calls, exit 1).
//
// The environment and the connection are injected so tests run the whole CLI in-process
// against a fake AdminApi.

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ctl/admin_api.h"
#include "ctl/admin_client.h"

namespace anteroom::ctl {

struct CliContext {
  std::ostream& out;  // Results and --help.
  std::ostream& err;  // Errors and the usage shown with them.
  // Looks up an environment variable; nullopt when unset.
  std::function<std::optional<std::string>(absl::string_view name)> env;
  // Called at most once, after the command line is known to be good.
  std::function<std::unique_ptr<AdminApi>(const ConnectionOptions& options)> connect;
};

// `args` is argv without the program name. Returns the process exit code (ctl/cli_status.h).
int RunCli(const std::vector<std::string>& args, const CliContext& context);

}  // namespace anteroom::ctl
