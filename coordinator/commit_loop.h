#pragma once

// CommitLoop: the one thread that owns the CoordinatorCore. Work submitted from any thread is
// applied in arrival order; everything that arrived while the previous write was in flight is
// applied into one StoreBatch and committed with one write (one fsync in sync durability), and
// only then is each caller told its result (group commit). When a commit fails, the core is
// reloaded from the store, so memory never holds what the disk does not.
//
// Thread-safe: Submit from any thread. The loop's thread is named "commit-loop".

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "coordinator/coordinator_core.h"
#include "coordinator/rocksdb_store.h"

namespace anteroom::coordinator {

class CommitLoop {
 public:
  struct Work {
    // Runs on the loop's thread. Returns the caller's result; must leave the core unchanged
    // when it returns an error.
    std::function<absl::Status(CoordinatorCore&, StoreBatch&, int64_t now_ms)> apply;
    // Runs on the loop's thread after the commit, with apply's result or the commit's error.
    std::function<void(absl::Status)> done;
  };

  struct Metrics {
    common::Counter* group_commits = nullptr;
    common::Counter* synced_commits = nullptr;
    common::Counter* commit_failures = nullptr;
    common::Histogram* write_seconds = nullptr;
    common::Histogram* group_size = nullptr;
  };

  // `core`, `store` and `clock` must outlive the loop. Maintenance runs every
  // `maintain_interval_ms` even without work.
  CommitLoop(CoordinatorCore& core, RocksDbStore& store, const common::Clock& clock,
             Metrics metrics, int64_t maintain_interval_ms = 250);
  ~CommitLoop();  // Stop().

  void Start();
  // Finishes the work already submitted, then stops. Later Submits fail with Unavailable.
  void Stop();
  void Submit(Work work);

 private:
  void Run();
  void ProcessGroup(std::vector<Work>& group, bool maintain);

  CoordinatorCore& core_;
  RocksDbStore& store_;
  const common::Clock& clock_;
  Metrics metrics_;
  const int64_t maintain_interval_ms_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Work> queue_;  // Guarded by mu_.
  bool stopping_ = false;   // Guarded by mu_.
  bool running_ = false;    // Guarded by mu_.
  bool idle_ = false;       // Guarded by mu_: the loop waits for work.
  std::thread thread_;
};

}  // namespace anteroom::coordinator
