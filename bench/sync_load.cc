// anteroom-sync-bench: load generator for the coordinator's Sync RPC.
//
// Simulates --agents agents, each serving --rooms rooms, sending realistic Sync requests over
// --channels channels (one CompletionQueue thread each). Closed loop by default (--inflight
// calls outstanding); open loop with --rate (fixed schedule, latency from the scheduled time).
// Creates the rooms through Admin.CreateRoom first unless --no-create, and reads the storage
// counters from the coordinator's /metrics (--admin) before and after the measured window.
//
// Prints a human-readable summary and one line starting with "RESULT " for scripts.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "anteroom/v1/admin.grpc.pb.h"
#include "anteroom/v1/sync.grpc.pb.h"
#include "bench/bench_flags.h"
#include "bench/metrics_scraper.h"
#include "bench/simulated_agent.h"
#include "bench/sync_worker.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "Coordinator (or echo server) gRPC host:port.");
ABSL_FLAG(std::string, admin, "",
          "Coordinator admin HTTP host:port, scraped for storage counters; empty = skip.");
ABSL_FLAG(std::string, token, "", "Admin API bearer token for CreateRoom.");
ABSL_FLAG(std::string, sync_token, "", "Bearer token sent with each Sync; empty = none.");
ABSL_FLAG(bool, no_create, false, "Do not create the rooms through Admin.CreateRoom.");
ABSL_FLAG(int, agents, 100, "Simulated agents (each with its own agent_id and seq).");
ABSL_FLAG(int, rooms, 1, "Rooms every agent serves (ids <room_prefix>0..N-1).");
ABSL_FLAG(std::string, room_prefix, "bench-", "Room id prefix.");
ABSL_FLAG(int64_t, total_active_users, 1000000, "total_active_users of created rooms.");
ABSL_FLAG(int64_t, new_users_per_minute, 1000000, "new_users_per_minute of created rooms.");
ABSL_FLAG(int, inflight, 64, "Closed loop: Syncs outstanding in total.");
ABSL_FLAG(double, rate, 0, "Open loop: Syncs per second on a fixed schedule; 0 = closed loop.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "Measured window.");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "Load before the measured window.");
ABSL_FLAG(int, channels, 2, "gRPC channels (TCP connections), one client thread each.");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(5), "Deadline of each Sync.");
ABSL_FLAG(std::string, label, "", "Name of the target for the report (echo, coordinator...).");
ABSL_FLAG(std::string, durability, "unknown",
          "Durability of the target for the report (sync, async, none).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the simulated traffic.");
ABSL_FLAG(bool, show_reply, false,
          "After the run, print (text format) the reply to a probe agent's second Sync.");

namespace anteroom::bench {
namespace {

using std::chrono::steady_clock;

constexpr char kSyncedCommits[] = "anteroom_storage_synced_commits_total";
constexpr char kGroupCommits[] = "anteroom_storage_group_commits_total";

std::string RoomId(int i) { return absl::StrCat(absl::GetFlag(FLAGS_room_prefix), i); }

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  // A channel of its own per index: separate subchannel, so separate TCP connections.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("anteroom.bench.channel_index", index);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool CreateRooms(const std::string& target, int rooms) {
  auto stub = v1::Admin::NewStub(MakeChannel(target, -1));
  int created = 0, existed = 0;
  for (int i = 0; i < rooms; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", absl::GetFlag(FLAGS_token)));
    v1::CreateRoomRequest request;
    v1::Room* room = request.mutable_room();
    room->set_id(RoomId(i));
    v1::Route* route = room->add_routes();
    route->set_host(absl::StrCat(RoomId(i), ".bench.example"));
    route->set_path_prefix("/");
    room->set_total_active_users(absl::GetFlag(FLAGS_total_active_users));
    room->set_new_users_per_minute(absl::GetFlag(FLAGS_new_users_per_minute));
    v1::Room reply;
    grpc::Status status = stub->CreateRoom(&ctx, request, &reply);
    if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      ++existed;
    } else if (status.ok()) {
      ++created;
    } else {
      std::fprintf(stderr, "CreateRoom %s: %d %s\n", room->id().c_str(), status.error_code(),
                   status.error_message().c_str());
      return false;
    }
  }
  std::printf("rooms: %d created, %d already existed\n", created, existed);
  return true;
}

// Counter values at one instant; nullopt fields when the scrape or the counter is missing.
struct StorageSnapshot {
  SteadyTime at;
  std::optional<double> synced_commits;
  std::optional<double> group_commits;
};

StorageSnapshot Scrape(const std::string& admin) {
  StorageSnapshot snap;
  snap.at = steady_clock::now();
  if (admin.empty()) return snap;
  std::string error;
  std::optional<std::string> body = FetchMetrics(admin, &error);
  if (!body) {
    std::fprintf(stderr, "metrics: %s\n", error.c_str());
    return snap;
  }
  snap.synced_commits = SumCounter(*body, kSyncedCommits);
  snap.group_commits = SumCounter(*body, kGroupCommits);
  return snap;
}

std::optional<double> RatePerS(const std::optional<double>& before,
                               const std::optional<double>& after, double seconds) {
  if (!before || !after || seconds <= 0) return std::nullopt;
  return (*after - *before) / seconds;
}

std::string Fmt(const std::optional<double>& v, int decimals = 0) {
  return v ? absl::StrFormat("%.*f", decimals, *v) : "n/a";
}

// Sends two Syncs from a fresh agent (the first gets configs and keys) and prints the second
// reply, to compare what the target answers in steady state.
void ShowReply(const std::string& target, const RoomSet& rooms) {
  auto stub = v1::Coordinator::NewStub(MakeChannel(target, -2));
  SimulatedAgent probe(absl::StrCat("bench-probe-", absl::ToUnixMillis(absl::Now())), &rooms, 7);
  v1::SyncResponse reply;
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!absl::GetFlag(FLAGS_sync_token).empty()) {
      ctx.AddMetadata("authorization", absl::StrCat("Bearer ", absl::GetFlag(FLAGS_sync_token)));
    }
    int64_t sent_ms = absl::ToUnixMillis(absl::Now());
    reply.Clear();
    grpc::Status status = stub->Sync(&ctx, probe.NextRequest(sent_ms), &reply);
    if (!status.ok()) {
      std::printf("probe Sync: %d %s\n", status.error_code(), status.error_message().c_str());
      return;
    }
    probe.OnReply(reply, sent_ms, absl::ToUnixMillis(absl::Now()));
  }
  std::printf("reply to a probe agent's second Sync (%zu B):\n%s", reply.ByteSizeLong(),
              reply.DebugString().c_str());
}

int Main() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const int n_agents = absl::GetFlag(FLAGS_agents);
  const int n_rooms = absl::GetFlag(FLAGS_rooms);
  const int n_channels = absl::GetFlag(FLAGS_channels);
  const double rate = absl::GetFlag(FLAGS_rate);
  const bool open_loop = rate > 0;
  const int inflight = absl::GetFlag(FLAGS_inflight);
  if (n_agents < 1 || n_rooms < 1 || n_channels < 1 || inflight < 1 || rate < 0 ||
      absl::GetFlag(FLAGS_duration) <= absl::ZeroDuration()) {
    std::fprintf(stderr,
                 "--agents, --rooms, --channels, --inflight and --duration must be positive\n");
    return 2;
  }
  if (n_channels > n_agents) {
    std::fprintf(stderr, "--channels must not exceed --agents\n");
    return 2;
  }
  if (!absl::GetFlag(FLAGS_no_create) && !CreateRooms(target, n_rooms)) return 1;

  std::vector<std::string> room_ids;
  for (int i = 0; i < n_rooms; ++i) room_ids.push_back(RoomId(i));
  RoomSet rooms(std::move(room_ids));
  // Agent ids are unique per run, as a restarted agent picks a new id.
  const std::string run_id = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  std::vector<std::unique_ptr<SimulatedAgent>> agents;
  for (int i = 0; i < n_agents; ++i) {
    agents.push_back(std::make_unique<SimulatedAgent>(absl::StrCat("bench-", run_id, "-", i),
                                                      &rooms, absl::GetFlag(FLAGS_seed) + i));
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < n_channels; ++c) {
    channels.push_back(MakeChannel(target, c));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(5))) {
      std::fprintf(stderr, "cannot connect to %s\n", target.c_str());
      return 1;
    }
  }

  const auto warmup = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_warmup));
  const auto duration = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_duration));
  const SteadyTime start = steady_clock::now() + std::chrono::milliseconds(50);
  std::vector<std::unique_ptr<SyncWorker>> workers;
  for (int c = 0; c < n_channels; ++c) {
    std::vector<SimulatedAgent*> mine;
    for (int i = c; i < n_agents; i += n_channels) mine.push_back(agents[i].get());
    WorkerOptions o;
    o.open_loop = open_loop;
    o.inflight = inflight / n_channels + (c < inflight % n_channels ? 1 : 0);
    o.rate_per_s = rate / n_channels;
    // Workers' schedules interleave so the sends of all workers are evenly spaced.
    o.start =
        open_loop ? start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * c / rate)) : start;
    o.measure_from = start + warmup;
    o.measure_until = start + warmup + duration;
    o.call_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_call_timeout)));
    o.sync_token = absl::GetFlag(FLAGS_sync_token);
    if (!open_loop && o.inflight > static_cast<int>(mine.size())) {
      std::fprintf(stderr, "note: channel %d has %zu agents, so only %zu calls in flight\n", c,
                   mine.size(), mine.size());
    }
    workers.push_back(std::make_unique<SyncWorker>(channels[c], std::move(mine), o));
  }

  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  const std::string admin = absl::GetFlag(FLAGS_admin);
  std::this_thread::sleep_until(start + warmup);
  StorageSnapshot before = Scrape(admin);
  std::this_thread::sleep_until(start + warmup + duration);
  StorageSnapshot after = Scrape(admin);
  for (auto& t : threads) t.join();

  WorkerStats total;
  for (auto& w : workers) {
    WorkerStats& s = w->stats();
    total.latency.Merge(s.latency);
    total.send_lag.Merge(s.send_lag);
    total.ok_in_window += s.ok_in_window;
    total.errors += s.errors;
    for (const auto& [code, n] : s.errors_by_code) total.errors_by_code[code] += n;
    total.scheduled += s.scheduled;
    total.unsent += s.unsent;
    total.ok_total += s.ok_total;
    total.size_samples += s.size_samples;
    total.request_bytes += s.request_bytes;
    total.response_bytes += s.response_bytes;
  }
  int64_t admitted = 0;
  for (const auto& a : agents) admitted += a->admitted();

  const double window_s = std::chrono::duration<double>(duration).count();
  const double syncs_per_s = static_cast<double>(total.ok_in_window) / window_s;
  const double scrape_s = std::chrono::duration<double>(after.at - before.at).count();
  std::optional<double> fsyncs = RatePerS(before.synced_commits, after.synced_commits, scrape_s);
  std::optional<double> groups = RatePerS(before.group_commits, after.group_commits, scrape_s);
  std::optional<double> per_group;
  if (groups && *groups > 0) per_group = syncs_per_s / *groups;

  const std::string label =
      absl::GetFlag(FLAGS_label).empty() ? target : absl::GetFlag(FLAGS_label);
  const std::string durability = absl::GetFlag(FLAGS_durability);
  LatencyRecorder& lat = total.latency;
  std::printf("== Coordinator Sync benchmark ==\n");
  std::printf("target        %s (%s), durability %s\n", target.c_str(), label.c_str(),
              durability.c_str());
  if (open_loop) {
    std::printf("mode          open loop, %.0f Syncs/s scheduled\n", rate);
  } else {
    std::printf("mode          closed loop, %d Syncs in flight\n", std::min(inflight, n_agents));
  }
  std::printf("agents        %d on %d channels, %d room(s) each\n", n_agents, n_channels, n_rooms);
  std::printf("window        %.1f s after %.1f s warm-up\n", window_s,
              absl::ToDoubleSeconds(absl::GetFlag(FLAGS_warmup)));
  std::printf("syncs         %lld ok in window, %lld errors, %lld users admitted\n",
              static_cast<long long>(total.ok_in_window), static_cast<long long>(total.errors),
              static_cast<long long>(admitted));
  for (const auto& [code, n] : total.errors_by_code) {
    std::printf("  error       %lld x %s\n", static_cast<long long>(n), code.c_str());
  }
  std::printf("throughput    %.0f Syncs/s\n", syncs_per_s);
  if (open_loop) {
    std::printf("schedule      %lld scheduled in window (%.0f/s), %lld never sent\n",
                static_cast<long long>(total.scheduled),
                static_cast<double>(total.scheduled) / window_s,
                static_cast<long long>(total.unsent));
    std::printf("send lag ms   p50 %.3f  p99 %.3f  max %.3f (client's own delay, included)\n",
                total.send_lag.QuantileMs(0.5), total.send_lag.QuantileMs(0.99),
                total.send_lag.MaxMs());
  }
  std::printf("latency ms    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f (%zu calls)\n",
              lat.QuantileMs(0.5), lat.QuantileMs(0.9), lat.QuantileMs(0.99), lat.MaxMs(),
              lat.MeanMs(), lat.count());
  if (total.size_samples > 0) {
    std::printf("messages      request %lld B, response %lld B (mean of %lld samples)\n",
                static_cast<long long>(total.request_bytes / total.size_samples),
                static_cast<long long>(total.response_bytes / total.size_samples),
                static_cast<long long>(total.size_samples));
  }
  std::printf("storage       fsyncs/s %s, group commits/s %s, Syncs per group commit %s\n",
              Fmt(fsyncs).c_str(), Fmt(groups).c_str(), Fmt(per_group, 1).c_str());
  std::printf(
      "RESULT mode=%s target=%s rooms=%d durability=%s syncs_per_s=%.0f p50_ms=%.3f "
      "p90_ms=%.3f p99_ms=%.3f max_ms=%.3f fsyncs_per_s=%s group_commits_per_s=%s errors=%lld "
      "unsent=%lld\n",
      open_loop ? "open" : "closed", label.c_str(), n_rooms, durability.c_str(), syncs_per_s,
      lat.QuantileMs(0.5), lat.QuantileMs(0.9), lat.QuantileMs(0.99), lat.MaxMs(),
      Fmt(fsyncs).c_str(), Fmt(groups).c_str(), static_cast<long long>(total.errors),
      static_cast<long long>(total.unsent));
  std::fflush(stdout);
  if (absl::GetFlag(FLAGS_show_reply)) ShowReply(target, rooms);
  return total.ok_in_window > 0 ? 0 : 1;
}

}  // namespace
}  // namespace anteroom::bench

int main(int argc, char** argv) {
  anteroom::bench::ParseBenchFlags(
      argc, argv,
      "Load generator for the coordinator's Sync RPC (docs/benchmarks.md).\n"
      "Flag names take '-' or '_'.");
  return anteroom::bench::Main();
}
