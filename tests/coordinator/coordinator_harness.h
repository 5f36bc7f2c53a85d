#pragma once

// Starts the real coordinator (in this process, on free loopback ports) for service tests.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "anteroom/v1/admin.grpc.pb.h"
#include "anteroom/v1/config.pb.h"
#include "anteroom/v1/sync.grpc.pb.h"

namespace anteroom::coordinator {

class CoordinatorHarness {
 public:
  static constexpr const char* kToken = "test-token";

  // Starts a shard; `tweak` may change the config before it starts.
  explicit CoordinatorHarness(int shard_index = 0, int shard_count = 1,
                              const std::function<void(v1::CoordinatorConfig&)>& tweak = {});
  ~CoordinatorHarness();

  bool started() const { return grpc_port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  int admin_port() const { return admin_port_; }
  const std::string& data_dir() const { return dir_; }

  v1::Admin::Stub& admin() { return *admin_; }
  v1::Coordinator::Stub& sync() { return *sync_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  // A context carrying the bearer token.
  std::unique_ptr<grpc::ClientContext> Authed(const std::string& token = kToken);

 private:
  std::string dir_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int grpc_port_ = 0;
  int admin_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Coordinator::Stub> sync_;
};

}  // namespace anteroom::coordinator
