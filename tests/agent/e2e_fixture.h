#pragma once

// The agent end to end: a real coordinator, real agents and the demo origin on loopback ports
// chosen at run time, with libcurl browsers that keep their own cookie jars. Shared by the
// agent's end-to-end test files.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "anteroom/v1/admin.grpc.pb.h"
#include "tests/testing/browser.h"
#include "tests/testing/http_get.h"
#include "tests/testing/process.h"

namespace anteroom::agent {

using namespace std::chrono_literals;
using testing::Browser;
using testing::ChildProcess;
using testing::Page;

inline constexpr const char* kToken = "e2e-token";

inline int PortFrom(const std::string& file, const std::string& key) {
  return testing::PortFromFile(file, key);
}

inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  return testing::WaitUntil(condition, timeout);
}

class AgentE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("anteroom-agent-e2e");
    ASSERT_TRUE(StartCoordinator());
    ASSERT_TRUE(origin_
                    .Start(ORIGIN_BIN, {"--ports-file=" + dir_ + "/origin.ports", "--name=shop"},
                           dir_ + "/origin.log")
                    .ok());
    origin_port_ = PortFrom(dir_ + "/origin.ports", "http");
    ASSERT_GT(origin_port_, 0);
  }
  void TearDown() override {
    agents_.clear();
    testing::RemoveTree(dir_);
  }

  bool StartCoordinator(const std::vector<std::string>& extra = {}) {
    std::remove((dir_ + "/coord.ports").c_str());
    std::vector<std::string> args = {"--data-dir=" + dir_ + "/coord",
                                     "--listen=127.0.0.1:" + std::to_string(coordinator_port_),
                                     "--admin-listen=127.0.0.1:0",
                                     "--ports-file=" + dir_ + "/coord.ports",
                                     std::string("--admin-token=") + kToken,
                                     "--log-level=warn",
                                     "--sync-interval-ms=" + std::to_string(sync_interval_ms_)};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!coordinator_.Start(COORDINATOR_BIN, args, dir_ + "/coord.log").ok()) {
      return false;
    }
    coordinator_port_ = PortFrom(dir_ + "/coord.ports", "grpc");
    admin_ = v1::Admin::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(coordinator_port_), grpc::InsecureChannelCredentials()));
    return coordinator_port_ > 0;
  }

  // Starts an agent; returns its index in agents_.
  int StartAgent(const std::vector<std::string>& extra = {}) {
    auto agent = std::make_unique<Agent>();
    const std::string ports = dir_ + "/agent" + std::to_string(agents_.size()) + ".ports";
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0",
        "--admin-listen=127.0.0.1:0",
        "--ports-file=" + ports,
        "--coordinators=127.0.0.1:" + std::to_string(coordinator_port_),
        "--default-upstream=127.0.0.1:" + std::to_string(origin_port_),
        "--sync-interval-ms=" + std::to_string(sync_interval_ms_),
        "--log-level=warn",
        "--io-threads=2"};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(agent->process.Start(AGENT_BIN, args, ports + ".log").ok());
    agent->port = PortFrom(ports, "http");
    agent->admin_port = PortFrom(ports, "admin");
    agents_.push_back(std::move(agent));
    return static_cast<int>(agents_.size()) - 1;
  }

  bool WaitAgentReady(int i) {
    return WaitFor(
        [&] {
          auto r = testing::HttpGet(agents_[i]->admin_port, "/readyz");
          return r.ok() && r->status == 200;
        },
        20s);
  }

  void CreateRoom(const std::string& id, int64_t capacity, int64_t per_minute,
                  std::function<void(v1::Room&)> tweak = {}) {
    v1::CreateRoomRequest req;
    v1::Room* room = req.mutable_room();
    room->set_id(id);
    room->add_routes()->set_path_prefix("/");
    room->set_total_active_users(capacity);
    room->set_new_users_per_minute(per_minute);
    room->set_session_duration_seconds(30);
    room->set_refresh_interval_seconds(2);
    room->set_json_response(true);
    if (tweak) tweak(*room);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::Room out;
    ASSERT_TRUE(admin_->CreateRoom(&ctx, req, &out).ok());
  }

  // Like a browser on the waiting page: polls the status endpoint until admitted.
  bool WaitAdmitted(Browser& b, int port, const std::string& room, std::chrono::seconds timeout) {
    return WaitFor(
        [&] {
          auto s = b.Get(port, "/__anteroom/status?room=" + room, "application/json");
          return s.ok() && s->body.find("\"admitted\"") != std::string::npos;
        },
        timeout);
  }

  // Visits `path`, waiting in line as long as needed; returns the application's page.
  absl::StatusOr<Page> Enter(Browser& b, int port, const std::string& room,
                             const std::string& path) {
    auto first = b.Get(port, path);
    if (!first.ok() || first->headers["x-anteroom-status"] != "queued") return first;
    if (!WaitAdmitted(b, port, room, 30s)) return absl::DeadlineExceededError("never admitted");
    return b.Get(port, path);
  }

  struct Agent {
    ChildProcess process;
    int port = 0;
    int admin_port = 0;
  };

  // The tick of the coordinator and the agents (the default in production is 500).
  int sync_interval_ms_ = 200;
  std::string dir_;
  ChildProcess coordinator_;
  int coordinator_port_ = 0;
  ChildProcess origin_;
  int origin_port_ = 0;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::vector<std::unique_ptr<Agent>> agents_;
};

}  // namespace anteroom::agent
