#include "common/daemon_main.h"

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/config_loader.h"
#include "common/logging.h"
#include "common/yaml_proto.h"
#include "spdlog/spdlog.h"

namespace anteroom::common {
namespace {

using google::protobuf::FieldDescriptor;

// Top-level string fields named *token are secrets: shown as <redacted> when set.
std::string PrintableConfig(const google::protobuf::Message& config) {
  std::unique_ptr<google::protobuf::Message> copy(config.New());
  copy->CopyFrom(config);
  const auto* d = copy->GetDescriptor();
  const auto* r = copy->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string& n = f->name();
    if (f->type() == FieldDescriptor::TYPE_STRING && !f->is_repeated() && n.size() >= 5 &&
        n.compare(n.size() - 5, 5, "token") == 0 && !r->GetString(*copy, f).empty()) {
      r->SetString(copy.get(), f, "<redacted>");
    }
  }
  return MessageToYaml(*copy);
}

int Fail(std::string_view name, const absl::Status& s) {
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(name.size()), name.data(),
               std::string(s.message()).c_str());
  return 2;
}

}  // namespace

int DaemonMain(int argc, char** argv, std::string_view name, google::protobuf::Message& config,
               const DaemonHooks& hooks) {
  // Debian builds abseil with deadlock detection, a measurable cost on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: %.*s [flags]\n\n%s", static_cast<int>(name.size()), name.data(),
                  ConfigUsage(*config.GetDescriptor()).c_str());
      return 0;
    }
  }
  absl::Status s = LoadDaemonConfig(args, EnvironmentFromProcess(), &config);
  if (s.ok()) s = hooks.resolve(config);
  if (!s.ok()) return Fail(name, s);
  const auto* d = config.GetDescriptor();
  const auto* r = config.GetReflection();
  if (const FieldDescriptor* f = d->FindFieldByName("print_config"); f && r->GetBool(config, f)) {
    std::printf("%s", PrintableConfig(config).c_str());
    return 0;
  }
  const FieldDescriptor* level = d->FindFieldByName("log_level");
  std::string component(name);
  if (component.rfind("anteroom-", 0) == 0) component.erase(0, 9);
  if (s = InitLogging(level ? r->GetString(config, level) : "info", component); !s.ok()) {
    return Fail(name, s);
  }

  // Signals go to one thread that raises the stop flag; the daemon then drains in order.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> stop{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop = true;
  });
  waiter.detach();

  s = hooks.run(config, stop);
  if (!s.ok()) {
    spdlog::critical("{}", s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace anteroom::common
