// anteroom-coordinator: owns waiting rooms, decides who enters, serves agents and operators.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "anteroom/v1/config.pb.h"
#include "common/config_loader.h"
#include "common/logging.h"
#include "common/yaml_proto.h"
#include "coordinator/daemon.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  // Debian builds abseil with deadlock detection, a measurable cost on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: anteroom-coordinator [flags]\n\n%s",
          anteroom::common::ConfigUsage(*anteroom::v1::CoordinatorConfig::descriptor()).c_str());
      return 0;
    }
  }
  anteroom::v1::CoordinatorConfig config;
  absl::Status s =
      anteroom::common::LoadDaemonConfig(args, anteroom::common::EnvironmentFromProcess(), &config);
  if (s.ok()) s = anteroom::coordinator::ResolveConfig(config);
  if (!s.ok()) {
    std::fprintf(stderr, "anteroom-coordinator: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  if (config.print_config()) {
    if (!config.admin_token().empty()) config.set_admin_token("<redacted>");
    std::printf("%s", anteroom::common::MessageToYaml(config).c_str());
    return 0;
  }
  if (s = anteroom::common::InitLogging(config.log_level(), "coordinator"); !s.ok()) {
    std::fprintf(stderr, "anteroom-coordinator: %s\n", std::string(s.message()).c_str());
    return 2;
  }

  // Signals are taken by a dedicated thread so the daemon shuts down in order.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop = true;
  });
  waiter.detach();

  s = anteroom::coordinator::RunCoordinator(config, stop);
  if (!s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  return 0;
}
