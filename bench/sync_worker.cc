#include "bench/sync_worker.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace anteroom::bench {
namespace {

using std::chrono::steady_clock;

constexpr int64_t kSizeSampleEvery = 64;
// The completion loop wakes at least this often to check the clock.
constexpr std::chrono::milliseconds kMaxWait{20};

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// gRPC deadlines are system_clock time points; the schedule runs on the steady clock.
std::chrono::system_clock::time_point ToDeadline(SteadyTime t) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_clock::now());
}

bool InWindow(SteadyTime t, const WorkerOptions& o) {
  return t >= o.measure_from && t < o.measure_until;
}

}  // namespace

// The state of one agent's call; the agent's only call in flight, so one per agent.
struct SyncWorker::Call {
  SimulatedAgent* agent = nullptr;
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SyncResponse>> reader;
  v1::SyncResponse response;
  grpc::Status status;
  SteadyTime intended;  // Open loop: the scheduled send time; closed loop: the send time.
  SteadyTime sent;
  int64_t sent_ms = 0;  // System clock, for the agent's clock offset.
  bool sample_size = false;
  int64_t request_bytes = 0;
};

SyncWorker::SyncWorker(std::shared_ptr<grpc::Channel> channel, std::vector<SimulatedAgent*> agents,
                       WorkerOptions options)
    : stub_(v1::Coordinator::NewStub(std::move(channel))), options_(std::move(options)) {
  for (SimulatedAgent* agent : agents) {
    auto call = std::make_unique<Call>();
    call->agent = agent;
    idle_.push_back(call.get());
    calls_.push_back(std::move(call));
  }
}

SyncWorker::~SyncWorker() {
  cq_.Shutdown();
  void* tag;
  bool ok;
  while (cq_.Next(&tag, &ok)) {
  }
}

void SyncWorker::Start(Call* call, SteadyTime intended) {
  call->context = std::make_unique<grpc::ClientContext>();
  call->context->set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
  if (!options_.sync_token.empty()) {
    call->context->AddMetadata("authorization", absl::StrCat("Bearer ", options_.sync_token));
  }
  call->response.Clear();
  call->intended = intended;
  call->sent_ms = SystemNowMs();
  const v1::SyncRequest& request = call->agent->NextRequest(call->sent_ms);
  call->sample_size = (started_++ % kSizeSampleEvery) == 0;
  if (call->sample_size) call->request_bytes = static_cast<int64_t>(request.ByteSizeLong());
  call->sent = steady_clock::now();
  // The request is serialized here, so the agent may rebuild it while the call runs.
  call->reader = stub_->AsyncSync(call->context.get(), request, &cq_);
  call->reader->Finish(&call->response, &call->status, call);
  ++outstanding_;
  if (options_.open_loop && InWindow(intended, options_)) {
    stats_.send_lag.Record((call->sent - intended).count());
  }
}

void SyncWorker::Complete(Call* call) {
  SteadyTime done = steady_clock::now();
  --outstanding_;
  bool counted = options_.open_loop ? InWindow(call->intended, options_) : InWindow(done, options_);
  if (call->status.ok()) {
    call->agent->OnReply(call->response, call->sent_ms, SystemNowMs());
    ++stats_.ok_total;
    if (InWindow(done, options_)) ++stats_.ok_in_window;
    if (counted) {
      stats_.latency.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(done - call->intended).count());
    }
    if (call->sample_size) {
      ++stats_.size_samples;
      stats_.request_bytes += call->request_bytes;
      stats_.response_bytes += static_cast<int64_t>(call->response.ByteSizeLong());
    }
  } else {
    // A failed Sync is retried with the same seq, as an agent would.
    call->agent->OnFailure();
    if (counted) {
      ++stats_.errors;
      ++stats_.errors_by_code[absl::StrCat(call->status.error_code(), " ",
                                           call->status.error_message())];
    }
  }
  call->reader.reset();
  call->context.reset();
  idle_.push_back(call);
}

void SyncWorker::CancelOutstanding() {
  for (auto& call : calls_) {
    if (call->context != nullptr) call->context->TryCancel();
  }
}

void SyncWorker::SendOnSchedule() {
  const WorkerOptions& o = options_;
  const std::chrono::nanoseconds interval(static_cast<int64_t>(1e9 / o.rate_per_s));
  for (SteadyTime next = o.start; next < o.measure_until; next += interval) {
    std::this_thread::sleep_until(next);
    absl::MutexLock lock(&mu_);
    if (InWindow(next, o)) ++stats_.scheduled;
    if (backlog_.empty() && !idle_.empty()) {
      Call* call = idle_.front();
      idle_.pop_front();
      Start(call, next);
    } else {
      backlog_.push_back(next);
    }
  }
  absl::MutexLock lock(&mu_);
  sending_done_ = true;
}

void SyncWorker::Run() {
  const WorkerOptions& o = options_;
  std::thread sender;
  if (o.open_loop) {
    sender = std::thread([this] { SendOnSchedule(); });
  } else {
    std::this_thread::sleep_until(o.start);
    absl::MutexLock lock(&mu_);
    int n = std::min<int>(o.inflight, static_cast<int>(idle_.size()));
    for (int i = 0; i < n; ++i) {
      Call* call = idle_.front();
      idle_.pop_front();
      Start(call, steady_clock::now());
    }
  }
  bool cancelled = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      SteadyTime now = steady_clock::now();
      if (!o.open_loop && now >= o.measure_until) sending_done_ = true;
      if (sending_done_) {
        if (outstanding_ == 0) break;
        if (!cancelled && now >= o.measure_until + o.drain_timeout) {
          CancelOutstanding();
          cancelled = true;
        }
      }
    }
    void* tag = nullptr;
    bool ok = false;
    grpc::CompletionQueue::NextStatus st =
        cq_.AsyncNext(&tag, &ok, ToDeadline(steady_clock::now() + kMaxWait));
    if (st == grpc::CompletionQueue::SHUTDOWN) break;
    if (st != grpc::CompletionQueue::GOT_EVENT) continue;
    absl::MutexLock lock(&mu_);
    Complete(static_cast<Call*>(tag));
    SteadyTime now = steady_clock::now();
    if (now >= o.measure_until) continue;
    if (!o.open_loop) {
      Call* next = idle_.front();
      idle_.pop_front();
      Start(next, now);
    } else if (!backlog_.empty()) {
      Call* next = idle_.front();
      idle_.pop_front();
      Start(next, backlog_.front());
      backlog_.pop_front();
    }
  }
  if (sender.joinable()) sender.join();
  absl::MutexLock lock(&mu_);
  for (SteadyTime t : backlog_) {
    if (InWindow(t, o)) ++stats_.unsent;
  }
}

}  // namespace anteroom::bench
