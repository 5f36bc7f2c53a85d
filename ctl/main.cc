// anteroomctl: the operator's command line for the Admin API. See ctl/usage.cc for the
// commands and ctl/cli.h for how a command line becomes calls and an exit code.

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "ctl/admin_client.h"
#include "ctl/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  anteroom::ctl::CliContext context{
      .out = std::cout,
      .err = std::cerr,
      .env = [](absl::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
      },
      .connect = anteroom::ctl::NewGrpcAdminClient,
  };
  int code = anteroom::ctl::RunCli(args, context);
  std::cout.flush();
  return code;
}
