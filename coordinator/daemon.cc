#include "coordinator/daemon.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/admin_http_server.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/secret_file.h"
#include "coordinator/admin_service.h"
#include "coordinator/bearer_auth.h"
#include "coordinator/commit_loop.h"
#include "coordinator/coordinator_core.h"
#include "coordinator/rocksdb_store.h"
#include "coordinator/sync_service.h"
#include "spdlog/spdlog.h"

namespace anteroom::coordinator {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

// The token given inline, else the one in `file` (named by `file_flag` in errors); empty when
// neither is set.
absl::StatusOr<std::string> TokenFromFlags(const std::string& inline_token, const std::string& file,
                                           absl::string_view file_flag) {
  if (!inline_token.empty() || file.empty()) return inline_token;
  return common::ReadSecretFile(file_flag, file);
}

// No token configured: make one and leave it beside the data, readable only by us, so a
// fresh install is never open to anyone who can reach the port.
absl::StatusOr<std::string> GenerateToken(const std::string& data_dir) {
  const std::string path = data_dir + "/admin-token";
  if (std::filesystem::exists(path)) return common::ReadSecretFile("admin-token-file", path);
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) return absl::InternalError("no randomness for a token");
  const std::string token =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  {
    std::ofstream out(path, std::ios::trunc);
    out << token << "\n";
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  ::chmod(path.c_str(), 0600);
  spdlog::warn("no admin token configured; generated one in {}", path);
  return token;
}

std::vector<double> LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
}

}  // namespace

absl::Status ResolveConfig(v1::CoordinatorConfig& c) {
  if (c.data_dir().empty()) c.set_data_dir("./anteroom-data");
  if (c.listen().empty()) c.set_listen("127.0.0.1:7400");
  if (c.admin_listen().empty()) c.set_admin_listen("127.0.0.1:7401");
  if (c.durability().empty()) c.set_durability("sync");
  if (c.durability() != "sync" && c.durability() != "async") {
    return Invalid("durability", absl::StrCat("must be sync or async, not '", c.durability(), "'"));
  }
  if (c.shard_count() == 0) c.set_shard_count(1);
  if (c.shard_count() < 1 || c.shard_count() > 1024) {
    return Invalid("shard-count", "must be between 1 and 1024");
  }
  if (c.shard_index() < 0 || c.shard_index() >= c.shard_count()) {
    return Invalid("shard-index", absl::StrCat("must be between 0 and shard-count - 1 (",
                                               c.shard_count() - 1, ")"));
  }
  if (c.log_level().empty()) c.set_log_level("info");
  if (c.sync_interval_ms() == 0) c.set_sync_interval_ms(500);
  if (c.sync_interval_ms() < 50 || c.sync_interval_ms() > 60'000) {
    return Invalid("sync-interval-ms", "must be between 50 and 60000");
  }
  if (c.lease_ticks() == 0) c.set_lease_ticks(2);
  if (c.lease_ticks() < 1 || c.lease_ticks() > 100) {
    return Invalid("lease-ticks", "must be between 1 and 100");
  }
  if (c.backup_dir().empty()) c.set_backup_dir(c.data_dir() + "/backups");
  return absl::OkStatus();
}

absl::Status RunCoordinator(const v1::CoordinatorConfig& config, const std::atomic<bool>& stop) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir(), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--data-dir: cannot create ", config.data_dir(), ": ", ec.message()));
  }
  if (config.worker_threads() != 0) {
    spdlog::warn("--worker-threads is deprecated and ignored: gRPC sizes its own thread pool");
  }
  auto admin_token =
      TokenFromFlags(config.admin_token(), config.admin_token_file(), "admin-token-file");
  if (!admin_token.ok()) return admin_token.status();
  std::string token = *std::move(admin_token);
  auto sync_token =
      TokenFromFlags(config.sync_token(), config.sync_token_file(), "sync-token-file");
  if (!sync_token.ok()) return sync_token.status();
  if (token.empty()) {
    auto t = GenerateToken(config.data_dir());
    if (!t.ok()) return t.status();
    token = *t;
  }

  const Durability durability =
      config.durability() == "async" ? Durability::kAsync : Durability::kSync;
  auto store = RocksDbStore::Open(config.data_dir() + "/db", durability);
  if (!store.ok()) return store.status();

  common::SystemClock clock;
  CoreOptions options;
  options.shard_index = config.shard_index();
  options.shard_count = config.shard_count();
  options.sync_interval_ms = config.sync_interval_ms();
  options.engine.lease_ms = config.sync_interval_ms() * config.lease_ticks();
  options.engine.lease_grace_ms = config.sync_interval_ms();
  options.engine.count_settle_ms = config.sync_interval_ms() + 250;
  CoordinatorCore core(options);
  {
    const auto start = std::chrono::steady_clock::now();
    auto loaded = (*store)->Load();
    if (!loaded.ok()) return loaded.status();
    const size_t rooms = loaded->rooms.size();
    StoreBatch batch = (*store)->NewBatch();
    core.Reset(*std::move(loaded), clock.NowMs(), batch);
    if (auto s = (*store)->Commit(batch); !s.ok()) return s;
    spdlog::info("loaded {} rooms from {} in {:.1f} ms", rooms, config.data_dir(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }

  common::MetricsRegistry metrics;
  common::RegisterBuildInfo(metrics, "coordinator");
  const common::MetricLabels durability_label = {{"durability", config.durability()}};
  CommitLoop::Metrics loop_metrics{
      .group_commits =
          metrics.RegisterCounter("anteroom_storage_group_commits_total",
                                  "RocksDB write batches committed.", durability_label),
      .synced_commits = metrics.RegisterCounter("anteroom_storage_synced_commits_total",
                                                "Commits that were fsynced.", durability_label),
      .commit_failures = metrics.RegisterCounter("anteroom_storage_commit_failures_total",
                                                 "Commits RocksDB refused."),
      .write_seconds = metrics.RegisterHistogram("anteroom_storage_write_seconds",
                                                 "Duration of one RocksDB batch write.",
                                                 LatencyBounds(), durability_label),
      .group_size = metrics.RegisterHistogram("anteroom_storage_group_requests",
                                              "Requests applied per group commit.",
                                              {1, 2, 4, 8, 16, 32, 64, 128, 256}),
  };
  CommitLoop loop(core, **store, clock, loop_metrics);
  loop.Start();

  std::optional<BearerAuth> sync_auth;
  if (!sync_token->empty()) sync_auth.emplace(*std::move(sync_token));
  SyncService sync_service(
      loop, clock, std::move(sync_auth),
      {.latency_seconds = metrics.RegisterHistogram(
           "anteroom_sync_latency_seconds", "Sync calls from arrival to reply.", LatencyBounds()),
       .rejected = metrics.RegisterCounter("anteroom_sync_rejected_total",
                                           "Sync calls answered with an error.")});
  AdminService admin_service(loop, **store, BearerAuth(token), config.backup_dir());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(config.listen(), grpc::InsecureServerCredentials(), &grpc_port);
  builder.RegisterService(&sync_service);
  builder.RegisterService(&admin_service);
  builder.SetMaxReceiveMessageSize(16 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || grpc_port == 0) {
    loop.Stop();
    return absl::UnavailableError(absl::StrCat("--listen: cannot listen on ", config.listen()));
  }

  std::atomic<bool> draining{false};
  common::AdminHttpServer admin_http({.listen = config.admin_listen()}, metrics, [&] {
    if (draining) return std::make_pair(false, std::string("draining"));
    return std::make_pair(true, std::string());
  });
  auto admin_port = admin_http.Start();
  if (!admin_port.ok()) {
    server->Shutdown();
    loop.Stop();
    return admin_port.status();
  }
  spdlog::info("coordinator shard {}/{} serving gRPC on port {} and admin HTTP on port {} ({})",
               config.shard_index(), config.shard_count(), grpc_port, *admin_port,
               config.durability());
  if (!config.ports_file().empty()) {
    const std::string tmp = config.ports_file() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "grpc=" << grpc_port << "\nadmin=" << *admin_port << "\n";
    }
    std::filesystem::rename(tmp, config.ports_file(), ec);
  }

  // Per-room gauges, refreshed from the loop's own thread once a second. A deleted room's
  // series go with it, so dashboards do not show its last figures forever.
  std::set<std::string> exported_rooms;  // Only touched on the loop's thread.
  // Every per-room series, so that removing a room's cannot miss one.
  static constexpr const char* kWaiting = "anteroom_room_waiting_users";
  static constexpr const char* kActive = "anteroom_room_active_users";
  static constexpr const char* kOutstanding = "anteroom_room_budget_outstanding";
  static constexpr const char* kAdmissions = "anteroom_room_admissions_total";
  std::thread gauges([&] {
    while (!stop) {
      loop.Submit(CommitLoop::Work{
          .apply =
              [&metrics, &exported_rooms](CoordinatorCore& c, StoreBatch&, int64_t) {
                std::set<std::string> gone = std::move(exported_rooms);
                exported_rooms.clear();
                for (const auto& [room, t] : c.Totals()) {
                  gone.erase(room);
                  exported_rooms.insert(room);
                  const common::MetricLabels l = {{"room", room}};
                  metrics.RegisterGauge(kWaiting, "Users waiting.", l)
                      ->Set(static_cast<double>(t.waiting));
                  metrics.RegisterGauge(kActive, "Sessions not expired.", l)
                      ->Set(static_cast<double>(t.active));
                  metrics
                      .RegisterGauge(kOutstanding, "Budget granted to agents and not settled.", l)
                      ->Set(static_cast<double>(t.outstanding));
                  common::Counter* admitted =
                      metrics.RegisterCounter(kAdmissions, "Users admitted into the room.", l);
                  if (t.admissions > static_cast<int64_t>(admitted->Value())) {
                    admitted->Increment(t.admissions - admitted->Value());
                  }
                }
                for (const std::string& room : gone) {
                  const common::MetricLabels l = {{"room", room}};
                  for (const char* name : {kWaiting, kActive, kOutstanding, kAdmissions}) {
                    metrics.RemoveSeries(name, l);
                  }
                }
                return absl::OkStatus();
              },
          .done = [](absl::Status) {},
      });
      for (int i = 0; i < 10 && !stop; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("stopping: draining in-flight calls");
  draining = true;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  gauges.join();
  loop.Stop();
  admin_http.Stop();
  spdlog::info("stopped");
  return absl::OkStatus();
}

}  // namespace anteroom::coordinator
