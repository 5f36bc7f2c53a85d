#pragma once

// One load-generating thread of the Sync benchmark: a channel, a CompletionQueue, and the
// simulated agents that send through them. Two modes:
//   closed loop: keeps `inflight` calls outstanding; each reply starts the next call;
//   open loop:   sends on a fixed schedule of `rate_per_s` calls/s; latency counts from the
//                scheduled send time, so a slow server cannot hide its stalls by slowing the
//                client down (no coordinated omission).
// An agent has at most one call in flight, so a scheduled send waits for an idle agent.
// In open loop a second thread sleeps to each scheduled time and starts the call, because
// CompletionQueue deadlines are only millisecond-precise; replies start backlogged sends.
//
// Thread-compatible from the outside: Run() on one thread, then read stats() after it returned.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "anteroom/v1/sync.grpc.pb.h"
#include "bench/latency_recorder.h"
#include "bench/simulated_agent.h"

namespace anteroom::bench {

using SteadyTime = std::chrono::steady_clock::time_point;

struct WorkerOptions {
  bool open_loop = false;
  int inflight = 1;          // Closed loop: calls kept outstanding by this worker.
  double rate_per_s = 0;     // Open loop: this worker's share of the schedule.
  SteadyTime start;          // Closed loop: first sends; open loop: schedule origin.
  SteadyTime measure_from;   // Only calls in [measure_from, measure_until) are counted.
  SteadyTime measure_until;  // No new calls start after this.
  std::chrono::milliseconds call_timeout{5000};
  // After measure_until, calls still outstanding this long are cancelled.
  std::chrono::milliseconds drain_timeout{5000};
  std::string sync_token;  // Sent as "authorization: Bearer <token>" when not empty.
};

struct WorkerStats {
  // Closed loop: calls completed in the window; open loop: calls scheduled in the window.
  LatencyRecorder latency;
  LatencyRecorder send_lag;  // Open loop: actual send time minus scheduled time.
  int64_t ok_in_window = 0;  // Successful calls that completed in the window.
  int64_t errors = 0;        // Failed calls counted in the window.
  std::map<std::string, int64_t> errors_by_code;
  int64_t scheduled = 0;  // Open loop: sends scheduled in the window.
  int64_t unsent = 0;     // Open loop: scheduled in the window but never sent.
  int64_t ok_total = 0;   // Including warm-up and drain.
  // Sampled serialized sizes (every 64th call).
  int64_t size_samples = 0;
  int64_t request_bytes = 0;
  int64_t response_bytes = 0;
};

class SyncWorker {
 public:
  // `agents` must not be empty and must outlive the worker.
  SyncWorker(std::shared_ptr<grpc::Channel> channel, std::vector<SimulatedAgent*> agents,
             WorkerOptions options);
  ~SyncWorker();

  // Sends until options.measure_until, then waits for (or cancels) what is outstanding.
  void Run();
  WorkerStats& stats() { return stats_; }

 private:
  struct Call;

  void SendOnSchedule();
  void Start(Call* call, SteadyTime intended) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Complete(Call* call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelOutstanding() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<v1::Coordinator::Stub> stub_;
  grpc::CompletionQueue cq_;
  WorkerOptions options_;
  std::vector<std::unique_ptr<Call>> calls_;  // One per agent.

  absl::Mutex mu_;
  std::deque<Call*> idle_ ABSL_GUARDED_BY(mu_);  // Agents with no call in flight, FIFO.
  // Open loop: scheduled sends that found no idle agent, oldest first.
  std::deque<SteadyTime> backlog_ ABSL_GUARDED_BY(mu_);
  bool sending_done_ ABSL_GUARDED_BY(mu_) = false;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t started_ ABSL_GUARDED_BY(mu_) = 0;
  WorkerStats stats_;  // Guarded by mu_ while Run() runs.
};

}  // namespace anteroom::bench
