// Kills the coordinator process (SIGKILL) at random moments while a client drives Syncs, and
// checks after each restart that every acknowledged effect is there exactly once (I4): the
// sessions, the queued users with their presence, and the counters each Sync adds to.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "anteroom/v1/admin.grpc.pb.h"
#include "anteroom/v1/sync.grpc.pb.h"
#include "common/time_slots.h"
#include "tests/testing/process.h"

namespace anteroom::coordinator {
namespace {

constexpr const char* kToken = "crash-token";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class CoordinatorProcess {
 public:
  CoordinatorProcess(std::string dir, std::string durability)
      : dir_(std::move(dir)), durability_(std::move(durability)) {}

  bool Start() {
    std::remove((dir_ + "/ports").c_str());
    auto s =
        process_.Start(COORDINATOR_BIN,
                       {"--data-dir=" + dir_, "--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0",
                        "--ports-file=" + dir_ + "/ports", std::string("--admin-token=") + kToken,
                        "--log-level=warn", "--durability=" + durability_},
                       dir_ + "/log");
    if (!s.ok()) return false;
    auto ports = testing::WaitForPortsFile(dir_ + "/ports", {"grpc"}, std::chrono::seconds(20));
    if (!ports.ok()) return false;
    auto channel =
        grpc::CreateChannel("127.0.0.1:" + ports->at("grpc"), grpc::InsecureChannelCredentials());
    admin_ = v1::Admin::NewStub(channel);
    sync_ = v1::Coordinator::NewStub(channel);
    return true;
  }
  void Kill() { (void)process_.Stop(SIGKILL, std::chrono::seconds(10)); }
  int Terminate() {
    auto st = process_.Stop(SIGTERM, std::chrono::seconds(20));
    return st.ok() ? *st : -1;
  }

  v1::Admin::Stub* admin() { return admin_.get(); }
  v1::Coordinator::Stub* sync() { return sync_.get(); }

 private:
  std::string dir_;
  std::string durability_;
  testing::ChildProcess process_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Coordinator::Stub> sync_;
};

std::unique_ptr<grpc::ClientContext> Context(int seconds = 2) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", std::string("Bearer ") + kToken);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

// What Sync number `seq` of the test's one agent reports for room "crash": one more session at
// `slot`, and `queued` users who arrived in second `bucket` and were counted present in
// `epoch`, and `invalid` rejected cookies. For room "open" it queues one user, asks for
// budget and returns unspent the `unspent` it was granted last. A retry sends the same Sync.
struct SyncEffects {
  int64_t queued = 0;
  int64_t invalid = 0;
};

SyncEffects EffectsOf(uint64_t seq) {
  return {.queued = static_cast<int64_t>(1 + seq % 3), .invalid = static_cast<int64_t>(seq % 2)};
}

// `count` users who arrived in second `bucket`, counted present in `epoch`.
void AddQueued(v1::RoomReport* r, int64_t bucket, int64_t epoch, int64_t count) {
  auto* a = r->add_arrivals();
  a->set_bucket(bucket);
  a->set_count(count);
  auto* p = r->add_presence();
  p->set_bucket(bucket);
  p->set_epoch(epoch);
  p->set_count(count);
}

v1::SyncRequest OneSync(uint64_t seq, int64_t slot, int64_t bucket, int64_t epoch,
                        int64_t unspent) {
  const SyncEffects e = EffectsOf(seq);
  v1::SyncRequest req;
  req.set_agent_id("crash-agent");
  req.set_seq(seq);
  auto* r = req.add_rooms();
  r->set_room_id("crash");
  auto* d = r->add_session_deltas();
  d->set_slot(slot);
  d->set_delta(1);
  AddQueued(r, bucket, epoch, e.queued);
  r->set_invalid_tokens(e.invalid);

  auto* open = req.add_rooms();
  open->set_room_id("open");
  AddQueued(open, bucket, epoch, 1);
  open->set_budget_wanted(5);
  open->set_budget_unspent(unspent);
  return req;
}

int64_t BudgetFor(const v1::SyncResponse& resp, const std::string& room) {
  for (const v1::RoomView& v : resp.rooms()) {
    if (v.room_id() == room) return v.budget();
  }
  ADD_FAILURE() << "no view of room " << room;
  return -1;
}

// Both durabilities: async leaves the fsync to the OS, which protects against a machine crash
// only; a killed process must still lose nothing it acknowledged.
class CoordinatorCrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CoordinatorCrashTest, AcknowledgedSyncsSurviveSigkillExactlyOnce) {
  const std::string dir = testing::MakeTempDir("anteroom-crash");
  CoordinatorProcess coordinator(dir, GetParam());
  ASSERT_TRUE(coordinator.Start());
  v1::CreateRoomRequest create;
  create.mutable_room()->set_id("crash");
  create.mutable_room()->set_total_active_users(1'000'000);
  create.mutable_room()->set_new_users_per_minute(1'000'000);
  create.mutable_room()->set_session_duration_seconds(3600);
  // Suspended: nobody is admitted, so everyone queued stays queued. A presence epoch of an hour
  // keeps them present for the whole test.
  create.mutable_room()->set_suspended(true);
  create.mutable_room()->set_refresh_interval_seconds(3600);
  v1::Room room;
  ASSERT_TRUE(coordinator.admin()->CreateRoom(Context().get(), create, &room).ok());
  // Open: its users become eligible and the agent gets budget, which it never spends.
  create.mutable_room()->set_id("open");
  create.mutable_room()->set_suspended(false);
  create.mutable_room()->set_total_active_users(1'000);
  ASSERT_TRUE(coordinator.admin()->CreateRoom(Context().get(), create, &room).ok());
  // Retried: a just restarted coordinator on a loaded machine may take a moment to answer.
  auto status_of = [&](const std::string& id) {
    v1::GetRoomStatusRequest req;
    req.set_id(id);
    v1::RoomStatus status;
    grpc::Status st;
    for (int attempt = 0; attempt < 5; ++attempt) {
      st = coordinator.admin()->GetRoomStatus(Context().get(), req, &status);
      if (st.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_TRUE(st.ok()) << "status of " << id << ": " << st.error_message();
    return status;
  };

  // Users stay present for two epochs, so crossing an epoch boundary mid-test changes nothing.
  const int64_t epoch = common::EpochOfMs(NowMs(), 3600);
  // Users arrive in one of a few buckets, so several bucket records are written and reloaded.
  const int64_t first_bucket = NowMs() / 1000 - 10;
  auto bucket_of = [&](uint64_t seq) { return first_bucket + static_cast<int64_t>(seq % 4); };
  // Every Sync adds one session at a slot an hour ahead; acknowledged seqs are counted.
  const int64_t slot = common::SlotCeilMs(NowMs() + 3'600'000);
  std::mt19937 rng(42);
  uint64_t seq = 1;
  uint64_t acknowledged = 0;
  int64_t granted = 0;  // Budget for "open" in the last acknowledged reply.
  // Sends `seq` until it is acknowledged (a retry of an applied seq is answered from state);
  // returns the attempt that was, or -1.
  auto sync_until_acked = [&] {
    for (int attempt = 0; attempt < 50; ++attempt) {
      const v1::SyncRequest req = OneSync(seq, slot, bucket_of(seq), epoch, granted);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      v1::SyncResponse resp;
      if (coordinator.sync()->Sync(&ctx, req, &resp).ok()) {
        acknowledged = seq++;
        granted = BudgetFor(resp, "open");
        return attempt;
      }
    }
    return -1;
  };
  // A retry answered after the coordinator presumed the lease spent says budget 0 while the
  // sessions it presumed still count; a Sync acknowledged at its first attempt was applied
  // just then, so its grant is what is out.
  auto sync_fresh = [&] {
    for (int tries = 0; tries < 20; ++tries) {
      const int attempt = sync_until_acked();
      if (attempt < 0) return false;
      if (attempt == 0) return true;
    }
    return false;
  };
  auto marker_of = [](const v1::RoomStatus& s) {
    return std::make_pair(s.marker().admit_through_bucket(), s.marker().fraction());
  };
  int kills = 0;
  for (int round = 0; round < 6; ++round) {
    std::atomic<bool> stop{false};
    std::thread client([&] {
      // Retries the same seq until it is acknowledged, as an agent does.
      while (!stop) {
        const v1::SyncRequest req = OneSync(seq, slot, bucket_of(seq), epoch, granted);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
        v1::SyncResponse resp;
        if (coordinator.sync()->Sync(&ctx, req, &resp).ok()) {
          EXPECT_EQ(resp.seq(), seq);
          acknowledged = seq;
          granted = BudgetFor(resp, "open");
          ++seq;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 250));
    if (round % 2 == 0) {
      // Killed in the middle of the client's Syncs.
      coordinator.Kill();
      stop = true;
      client.join();
    } else {
      // Killed while the agent waits for its next tick: what "open" has out and how far its
      // marker got are known exactly, and must be there after the restart.
      stop = true;
      client.join();
      ASSERT_TRUE(sync_fresh()) << "round " << round;
      const v1::RoomStatus before = status_of("open");
      EXPECT_EQ(before.active() + before.budget_outstanding(), granted) << "round " << round;
      coordinator.Kill();
      ASSERT_TRUE(coordinator.Start()) << "restart " << round;
      const v1::RoomStatus after = status_of("open");
      // A lease that ran out while the coordinator was down is presumed spent: the budget
      // counts as sessions then, never as nothing.
      EXPECT_EQ(after.active() + after.budget_outstanding(), granted) << "round " << round;
      EXPECT_GE(marker_of(after), marker_of(before)) << "round " << round;
      EXPECT_GT(after.marker().admit_through_bucket(), 0) << "the open room's marker moved";
      ++kills;
      continue;
    }
    ++kills;
    ASSERT_TRUE(coordinator.Start()) << "restart " << round;
  }
  // Bring the last, possibly unacknowledged, seq home (a retry applies it at most once), then
  // one fresh Sync.
  ASSERT_TRUE(sync_fresh());
  EXPECT_GE(kills, 6);
  EXPECT_GT(acknowledged, 20u) << "the client should have made progress between kills";

  v1::GetRoomStatusRequest status_req;
  status_req.set_id("crash");
  v1::RoomStatus status;
  ASSERT_TRUE(coordinator.admin()->GetRoomStatus(Context().get(), status_req, &status).ok());
  int64_t queued = 0;
  int64_t invalid = 0;
  for (uint64_t i = 1; i <= acknowledged; ++i) {
    queued += EffectsOf(i).queued;
    invalid += EffectsOf(i).invalid;
  }
  EXPECT_EQ(status.active(), static_cast<int64_t>(acknowledged));
  EXPECT_EQ(status.waiting(), queued);
  EXPECT_EQ(status.invalid_tokens(), invalid);
  EXPECT_EQ(status.oldest_waiting_bucket(), first_bucket);
  EXPECT_EQ(status.budget_outstanding(), 0);
  // The open room holds exactly the one grant the agent has not settled yet.
  const v1::RoomStatus open = status_of("open");
  EXPECT_GT(granted, 0) << "the agent should hold budget for the open room's eligible users";
  EXPECT_EQ(open.active() + open.budget_outstanding(), granted);

  // The room created before the first kill is still there, at its version.
  v1::GetRoomRequest get;
  get.set_id("crash");
  ASSERT_TRUE(coordinator.admin()->GetRoom(Context().get(), get, &room).ok());
  EXPECT_EQ(room.version(), 1);

  // A clean SIGTERM exits 0.
  int st = coordinator.Terminate();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  testing::RemoveTree(dir);
}

INSTANTIATE_TEST_SUITE_P(Durability, CoordinatorCrashTest, ::testing::Values("sync", "async"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(CoordinatorFlagsTest, RejectsBadFlagsWithAClearError) {
  auto r = testing::RunCommand(COORDINATOR_BIN, {"--durability=maybe"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_NE(r->output.find("--durability"), std::string::npos) << r->output;
  r = testing::RunCommand(COORDINATOR_BIN, {"--no-such-flag=1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  EXPECT_NE(r->output.find("no-such-flag"), std::string::npos) << r->output;
  // Each refused before anything listens, naming the flag.
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{"--shard-count=-1"}, "--shard-count: must be between 1 and 1024"},
      {{"--shard-count=2", "--shard-index=2"}, "--shard-index: must be between 0 and"},
      {{"--log-level=loud"}, "--log-level: unknown level 'loud'"},
      {{"--sync-interval-ms=10"}, "--sync-interval-ms: must be between 50 and 60000"},
  };
  for (const auto& [args, message] : bad) {
    r = testing::RunCommand(COORDINATOR_BIN, args);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 2) << args[0];
    EXPECT_NE(r->output.find(message), std::string::npos) << args[0] << ": " << r->output;
  }
}

}  // namespace
}  // namespace anteroom::coordinator
