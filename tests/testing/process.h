#pragma once

// Starts a real binary for an integration test and stops it again.
// Not thread-safe: one test thread owns a ChildProcess.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace anteroom::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the process (SIGKILL) if it still runs.
  ~ChildProcess();

  // Starts `binary` with `args`; stdout and stderr go to `log_path` (appended).
  absl::Status Start(const std::string& binary, const std::vector<std::string>& args,
                     const std::string& log_path);

  // Sends `signal` and waits up to `timeout` for the exit. Returns the exit status as
  // waitpid reports it, or DeadlineExceeded.
  absl::StatusOr<int> Stop(int signal, std::chrono::milliseconds timeout);

  bool Running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Waits until `path` exists and holds "key=value" lines including every key in `keys`,
// as the daemons' --ports-file writes it. DeadlineExceeded after `timeout`.
absl::StatusOr<std::map<std::string, std::string>> WaitForPortsFile(
    const std::string& path, const std::vector<std::string>& keys,
    std::chrono::milliseconds timeout);

// The port a daemon wrote under `key` in its --ports-file, waiting up to 20 s; 0 when none.
int PortFromFile(const std::string& path, const std::string& key);

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A fresh empty directory under $TMPDIR (or /tmp), removed by the caller (RemoveTree).
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

// Runs a command to completion, capturing stdout (and stderr when merge_stderr).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
absl::StatusOr<CommandResult> RunCommand(const std::string& binary,
                                         const std::vector<std::string>& args,
                                         bool merge_stderr = true,
                                         const std::map<std::string, std::string>& env = {});

}  // namespace anteroom::testing
