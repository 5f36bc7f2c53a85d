#include "tests/coordinator/coordinator_harness.h"

#include <chrono>

#include "common/logging.h"
#include "coordinator/daemon.h"
#include "tests/testing/process.h"

namespace anteroom::coordinator {

CoordinatorHarness::CoordinatorHarness(int shard_index, int shard_count,
                                       const std::function<void(v1::CoordinatorConfig&)>& tweak) {
  dir_ = testing::MakeTempDir("anteroom-coord");
  v1::CoordinatorConfig config;
  config.set_data_dir(dir_);
  config.set_listen("127.0.0.1:0");
  config.set_admin_listen("127.0.0.1:0");
  config.set_admin_token(kToken);
  config.set_ports_file(dir_ + "/ports");
  config.set_shard_index(shard_index);
  config.set_shard_count(shard_count);
  config.set_log_level("warn");
  (void)common::InitLogging("warn", "test");
  if (tweak) tweak(config);
  if (!ResolveConfig(config).ok()) return;
  thread_ = std::thread([this, config] { (void)RunCoordinator(config, stop_); });
  auto ports =
      testing::WaitForPortsFile(dir_ + "/ports", {"grpc", "admin"}, std::chrono::seconds(20));
  if (!ports.ok()) return;
  grpc_port_ = std::stoi(ports->at("grpc"));
  admin_port_ = std::stoi(ports->at("admin"));
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  admin_ = v1::Admin::NewStub(channel_);
  sync_ = v1::Coordinator::NewStub(channel_);
}

CoordinatorHarness::~CoordinatorHarness() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  testing::RemoveTree(dir_);
}

std::unique_ptr<grpc::ClientContext> CoordinatorHarness::Authed(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

}  // namespace anteroom::coordinator
