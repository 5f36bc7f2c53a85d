// The commit loop with a real RocksDB store: group commit, per-caller results, and stopping.

#include "coordinator/commit_loop.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "coordinator/coordinator_core.h"
#include "coordinator/rocksdb_store.h"
#include "tests/testing/process.h"

namespace anteroom::coordinator {
namespace {

constexpr int64_t kNowMs = 1'800'000'000'000;

class CommitLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("anteroom-loop");
    auto store = RocksDbStore::Open(dir_ + "/db", Durability::kSync);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    StoreBatch batch = store_->NewBatch();
    core_.Reset(StoredState{}, kNowMs, batch);
    v1::Room room;
    room.set_id("shop");
    room.set_total_active_users(1000);
    room.set_new_users_per_minute(6000);
    room.add_routes()->set_path_prefix("/");
    ASSERT_TRUE(core_.CreateRoom(room, kNowMs, batch).ok());
    ASSERT_TRUE(store_->Commit(batch).ok());
    loop_ = std::make_unique<CommitLoop>(
        core_, *store_, clock_,
        CommitLoop::Metrics{
            .group_commits = metrics_.RegisterCounter("group_commits_total", "G."),
            .synced_commits = metrics_.RegisterCounter("synced_commits_total", "S."),
            .commit_failures = metrics_.RegisterCounter("commit_failures_total", "F."),
            .write_seconds = metrics_.RegisterHistogram("write_seconds", "W.", {0.001, 1}),
            .group_size = metrics_.RegisterHistogram("group_size", "N.", {1, 2, 4, 8, 16, 32}),
        });
    loop_->Start();
  }
  void TearDown() override {
    loop_.reset();
    store_.reset();
    testing::RemoveTree(dir_);
  }

  // A Sync from `agent` reporting one arrival in the room, as the agent would send it.
  static v1::SyncRequest SyncFrom(const std::string& agent) {
    v1::SyncRequest req;
    req.set_agent_id(agent);
    req.set_seq(1);
    req.set_config_generation(-1);
    auto* report = req.add_rooms();
    report->set_room_id("shop");
    auto* arrival = report->add_arrivals();
    arrival->set_bucket(kNowMs / 1000);
    arrival->set_count(1);
    return req;
  }

  // Submits `request`; the future gets the caller's result once its group is committed.
  std::future<absl::Status> SubmitSync(const v1::SyncRequest& request, v1::SyncResponse* reply,
                                       std::vector<std::string>* order = nullptr) {
    auto done = std::make_shared<std::promise<absl::Status>>();
    auto result = done->get_future();
    loop_->Submit(CommitLoop::Work{
        .apply =
            [this, &request, reply, order](CoordinatorCore& core, StoreBatch& batch, int64_t now) {
              if (order) order->push_back(request.agent_id());
              return core.ApplySync(request, now, reply, batch);
            },
        .done = [done](absl::Status s) { done->set_value(std::move(s)); },
    });
    return result;
  }

  std::string dir_;
  common::ManualClock clock_{kNowMs};
  common::MetricsRegistry metrics_;
  CoordinatorCore core_{CoreOptions{}};
  std::unique_ptr<RocksDbStore> store_;
  std::unique_ptr<CommitLoop> loop_;
};

TEST_F(CommitLoopTest, WhatArrivesDuringAWriteIsCommittedTogetherInArrivalOrder) {
  // Hold the loop inside a first request, then queue 20 more behind it.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> holding;
  loop_->Submit(CommitLoop::Work{
      .apply =
          [&](CoordinatorCore&, StoreBatch&, int64_t) {
            holding.set_value();
            released.wait();
            return absl::OkStatus();
          },
      .done = [](absl::Status) {},
  });
  holding.get_future().wait();
  const double groups_before = metrics_.RegisterCounter("group_commits_total", "G.")->Value();

  constexpr int kCallers = 20;
  std::vector<v1::SyncRequest> requests;
  for (int i = 0; i < kCallers; ++i) requests.push_back(SyncFrom("agent-" + std::to_string(i)));
  std::vector<v1::SyncResponse> replies(kCallers);
  std::vector<std::string> order;
  std::vector<std::future<absl::Status>> results;
  for (int i = 0; i < kCallers; ++i)
    results.push_back(SubmitSync(requests[i], &replies[i], &order));
  release.set_value();

  for (int i = 0; i < kCallers; ++i) {
    ASSERT_EQ(results[i].wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(results[i].get().ok());
    EXPECT_EQ(replies[i].rooms_size(), 1);
  }
  // The first request's own group wrote nothing; the 20 waiting ones shared one write.
  EXPECT_EQ(metrics_.RegisterCounter("group_commits_total", "G.")->Value() - groups_before, 1);
  EXPECT_EQ(metrics_.RegisterCounter("synced_commits_total", "S.")->Value(), 1);
  ASSERT_EQ(order.size(), static_cast<size_t>(kCallers));
  for (int i = 0; i < kCallers; ++i) EXPECT_EQ(order[i], "agent-" + std::to_string(i));

  // Every caller's effect is on disk: all twenty agents are known after a reload.
  auto stored = store_->Load();
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->agents.size(), static_cast<size_t>(kCallers));
}

TEST_F(CommitLoopTest, AnErrorReachesOnlyItsCallerAndLeavesNoTrace) {
  v1::SyncRequest probe = SyncFrom("probe");
  v1::SyncResponse probe_reply;
  ASSERT_TRUE(SubmitSync(probe, &probe_reply).get().ok());
  v1::SyncRequest good = SyncFrom("good");
  v1::SyncRequest bad = SyncFrom("bad");
  bad.mutable_rooms(0)->set_room_id("no-such-room");
  // Claims to have the current configuration: an unknown room is then an error.
  bad.set_config_generation(probe_reply.config_generation());
  v1::SyncResponse good_reply, bad_reply;
  auto bad_result = SubmitSync(bad, &bad_reply);
  auto good_result = SubmitSync(good, &good_reply);
  EXPECT_EQ(bad_result.get().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(good_result.get().ok());
  auto stored = store_->Load();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->agents.count("bad"), 0u);
  EXPECT_EQ(stored->agents.count("good"), 1u);
}

TEST_F(CommitLoopTest, StopFinishesSubmittedWorkAndRefusesLaterWork) {
  v1::SyncRequest request = SyncFrom("agent-1");
  v1::SyncResponse reply;
  auto before = SubmitSync(request, &reply);
  loop_->Stop();
  EXPECT_TRUE(before.get().ok());
  v1::SyncRequest late_request = SyncFrom("agent-2");
  v1::SyncResponse late_reply;
  auto late = SubmitSync(late_request, &late_reply);
  EXPECT_EQ(late.get().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace anteroom::coordinator
