#include "coordinator/commit_loop.h"

#include <pthread.h>

#include <chrono>

#include "spdlog/spdlog.h"

namespace anteroom::coordinator {

CommitLoop::CommitLoop(CoordinatorCore& core, RocksDbStore& store, const common::Clock& clock,
                       Metrics metrics, int64_t maintain_interval_ms)
    : core_(core),
      store_(store),
      clock_(clock),
      metrics_(metrics),
      maintain_interval_ms_(maintain_interval_ms) {}

CommitLoop::~CommitLoop() { Stop(); }

void CommitLoop::Start() {
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] {
    // Named so that top -H and perf can tell it from gRPC's threads.
    pthread_setname_np(pthread_self(), "commit-loop");
    Run();
  });
}

void CommitLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  running_ = false;
}

void CommitLoop::Submit(Work work) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && running_) {
      queue_.push_back(std::move(work));
      // A busy loop takes the queue when it finishes its group: wake it only when it sleeps.
      if (idle_) cv_.notify_one();
      return;
    }
  }
  work.done(absl::UnavailableError("coordinator is shutting down"));
}

void CommitLoop::Run() {
  int64_t next_maintain = clock_.NowMs();
  std::vector<Work> group;
  while (true) {
    {
      std::unique_lock lock(mu_);
      idle_ = true;
      cv_.wait_for(lock, std::chrono::milliseconds(maintain_interval_ms_),
                   [&] { return stopping_ || !queue_.empty(); });
      idle_ = false;
      if (queue_.empty() && stopping_) return;
      group.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    const int64_t now = clock_.NowMs();
    const bool maintain = now >= next_maintain;
    if (maintain) next_maintain = now + maintain_interval_ms_;
    if (!group.empty() || maintain) ProcessGroup(group, maintain);
    group.clear();
  }
}

void CommitLoop::ProcessGroup(std::vector<Work>& group, bool maintain) {
  const int64_t now = clock_.NowMs();
  StoreBatch batch = store_.NewBatch();
  std::vector<absl::Status> results;
  results.reserve(group.size());
  for (Work& w : group) results.push_back(w.apply(core_, batch, now));
  if (maintain) core_.Maintain(now, batch);
  core_.FlushRoomChanges(batch);

  absl::Status committed = absl::OkStatus();
  if (!batch.empty()) {
    const auto start = std::chrono::steady_clock::now();
    committed = store_.Commit(batch);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (metrics_.write_seconds) metrics_.write_seconds->Observe(seconds);
    if (metrics_.group_commits) metrics_.group_commits->Increment();
    if (metrics_.synced_commits && store_.durability() == Durability::kSync) {
      metrics_.synced_commits->Increment();
    }
  }
  if (metrics_.group_size && !group.empty()) metrics_.group_size->Observe(group.size());

  if (!committed.ok()) {
    // Memory is ahead of the disk now: go back to what the disk holds.
    spdlog::error("commit of {} requests failed: {}; reloading state", group.size(),
                  committed.ToString());
    if (metrics_.commit_failures) metrics_.commit_failures->Increment();
    auto stored = store_.Load();
    StoreBatch repair = store_.NewBatch();
    if (stored.ok()) {
      core_.Reset(*std::move(stored), now, repair);
      (void)store_.Commit(repair);
    } else {
      spdlog::critical("reloading state failed: {}", stored.status().ToString());
    }
    for (Work& w : group) {
      w.done(absl::UnavailableError("storage write failed; retry"));
    }
    return;
  }
  for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
}

}  // namespace anteroom::coordinator
