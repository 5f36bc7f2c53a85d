#pragma once

// Command-line parsing shared by the bench binaries. Lets them take "--ports-file=x" as the
// daemons do, while Abseil flags are declared with underscores ("ports_file"), and makes
// --help list the flags of the bench sources. Call once, first thing in main().

#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace anteroom::bench {

// Rewrites '-' to '_' in the name part of every "--name[=value]" argument up to a bare "--",
// then parses the flags (exiting on a bad flag, as ParseCommandLine does).
inline void ParseBenchFlags(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "bench/");
  };
  absl::SetFlagsUsageConfig(config);

  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    size_t end = arg.find('=');
    if (end == std::string::npos) end = arg.size();
    for (size_t j = 2; j < end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  std::vector<char*> ptrs;
  for (std::string& s : args) ptrs.push_back(s.data());
  absl::ParseCommandLine(static_cast<int>(ptrs.size()), ptrs.data());
}

}  // namespace anteroom::bench
