// anteroom-echo-server: the bare peer of the Sync benchmark (see docs/benchmarks.md).
//
// Serves anteroom.v1.Coordinator with the same threading as the coordinator (gRPC callback
// API, default thread pool) and answers every Sync at once with a reply of realistic size:
// one RoomView per room reported (marker, an ETA table of --eta-entries entries, default
// 10, budget = budget_wanted), plus
// room configs and a signing key when the agent's generations are stale. No storage, no
// admission logic: what is left is gRPC, protobuf and the machine, so the coordinator's
// Syncs/s divided by this one's says what the coordinator's own work costs.
//
// Admin.CreateRoom succeeds for any room, so the benchmark's setup runs unchanged.
// Writes "grpc=<port>" to --ports-file once listening; stops on SIGTERM or SIGINT.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "anteroom/v1/admin.grpc.pb.h"
#include "anteroom/v1/sync.grpc.pb.h"
#include "bench/bench_flags.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "gRPC listen address; port 0 picks a free one.");
ABSL_FLAG(std::string, ports_file, "", "Where to write \"grpc=<port>\" once listening.");
ABSL_FLAG(int, eta_entries, 10,
          "ETA entries per RoomView, to match the reply size of the coordinator under test.");

namespace anteroom::bench {
namespace {

// Generations the echo pretends to hold; any other value in a request gets the full set.
constexpr int64_t kConfigGeneration = 1;
constexpr int64_t kKeysGeneration = 1;
constexpr int64_t kLeaseMs = 1000;  // Two sync ticks.
constexpr int64_t kSyncIntervalMs = 500;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FillView(const v1::RoomReport& report, int64_t now_ms, int eta_entries, v1::RoomView* view) {
  int64_t now_s = now_ms / 1000;
  view->set_room_id(report.room_id());
  view->set_phase(v1::ROOM_PHASE_OPEN);
  view->mutable_marker()->set_admit_through_bucket(now_s - 5);
  view->mutable_marker()->set_fraction(0.5);
  int64_t ahead = 0;
  for (int i = 0; i < eta_entries; ++i) {
    v1::EtaEntry* e = view->add_eta();
    e->set_first_bucket(now_s - 6 * (eta_entries - i));
    e->set_users_ahead(ahead);
    e->set_waiting(40 + i);
    e->set_eta_seconds(ahead / 20);
    ahead += e->waiting();
  }
  view->set_seconds_per_user(0.05);
  view->set_waiting(ahead);
  view->set_active(123456);
  view->set_budget(report.budget_wanted());
  view->set_lease_expiry_ms(now_ms + kLeaseMs);
  view->set_total_active_users(1000000);
  view->set_new_users_per_minute(1000000);
  view->set_session_duration_seconds(300);
}

void FillResponse(const v1::SyncRequest& request, int eta_entries, v1::SyncResponse* response) {
  int64_t now_ms = NowMs();
  response->set_coordinator_time_ms(now_ms);
  response->set_seq(request.seq());
  for (const v1::RoomReport& report : request.rooms()) {
    FillView(report, now_ms, eta_entries, response->add_rooms());
  }
  response->set_config_generation(kConfigGeneration);
  if (request.config_generation() != kConfigGeneration) {
    response->set_config_changed(true);
    for (const v1::RoomReport& report : request.rooms()) {
      v1::Room* room = response->add_room_configs();
      room->set_id(report.room_id());
      room->add_routes()->set_host(absl::StrCat(report.room_id(), ".bench.example"));
      room->set_total_active_users(1000000);
      room->set_new_users_per_minute(1000000);
      room->set_version(1);
    }
  }
  response->set_keys_generation(kKeysGeneration);
  if (request.keys_generation() != kKeysGeneration) {
    response->set_keys_changed(true);
    v1::SigningKey* key = response->add_keys();
    key->set_id("echo-key-1");
    key->set_secret(std::string(32, '\x5a'));
    key->set_created_unix(now_ms / 1000);
  }
  response->set_sync_interval_ms(kSyncIntervalMs);
}

class EchoCoordinator final : public v1::Coordinator::CallbackService {
 public:
  explicit EchoCoordinator(int eta_entries) : eta_entries_(eta_entries) {}

 private:
  grpc::ServerUnaryReactor* Sync(grpc::CallbackServerContext* context,
                                 const v1::SyncRequest* request,
                                 v1::SyncResponse* response) override {
    FillResponse(*request, eta_entries_, response);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  const int eta_entries_;
};

class EchoAdmin final : public v1::Admin::CallbackService {
  grpc::ServerUnaryReactor* CreateRoom(grpc::CallbackServerContext* context,
                                       const v1::CreateRoomRequest* request,
                                       v1::Room* response) override {
    *response = request->room();
    response->set_version(1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

bool WritePortsFile(const std::string& path, int port) {
  // Written whole, then renamed, so a reader never sees a partial file.
  std::string tmp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "grpc=" << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

int Main() {
  // Block the stop signals in every thread (gRPC's threads inherit the mask); main waits.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  EchoCoordinator coordinator(std::max(0, absl::GetFlag(FLAGS_eta_entries)));
  EchoAdmin admin;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&coordinator);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "echo server: grpc=%d\n", port);
  const std::string ports_file = absl::GetFlag(FLAGS_ports_file);
  if (!ports_file.empty() && !WritePortsFile(ports_file, port)) {
    std::fprintf(stderr, "cannot write %s\n", ports_file.c_str());
    return 1;
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace anteroom::bench

int main(int argc, char** argv) {
  anteroom::bench::ParseBenchFlags(argc, argv,
                                   "Bare Coordinator.Sync echo peer for anteroom-sync-bench.\n"
                                   "Flag names take '-' or '_'.");
  return anteroom::bench::Main();
}
