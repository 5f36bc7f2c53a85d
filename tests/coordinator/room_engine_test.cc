#include "coordinator/room_engine.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/time_slots.h"

namespace anteroom::coordinator {
namespace {

using common::EpochOfMs;
using common::FloorDiv;
using common::SlotCeilMs;

constexpr int64_t kStartMs = 1'800'000'000'000;  // A fixed instant: tests never read the clock.

v1::Room MakeRoom(int64_t capacity, int64_t rate, int64_t session_s = 60, int64_t refresh_s = 5) {
  v1::Room room;
  room.set_id("room");
  room.set_total_active_users(capacity);
  room.set_new_users_per_minute(rate);
  room.set_session_duration_seconds(session_s);
  room.set_refresh_interval_seconds(refresh_s);
  return room;
}

bool Eligible(const v1::Marker& m, int64_t bucket, double frac) {
  return bucket < m.admit_through_bucket() ||
         (bucket == m.admit_through_bucket() && frac < m.fraction());
}

// ----- Targeted behaviour -----

// One mechanism at a time: without the idle agent's seat of prefetch.
EngineOptions Plain() {
  EngineOptions o;
  o.idle_prefetch = false;
  return o;
}

TEST(RoomEngineTest, LightLoadGrantsWhatAnAgentWants) {
  RoomEngine engine(MakeRoom(100, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(0);
  report.set_direct_arrivals(2);  // Nobody waits: prefetch two ticks of arrivals.
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(view.budget(), 4);
  // Spent until a twentieth short of the 1 s lease, for the agent's clock.
  EXPECT_EQ(view.lease_expiry_ms(), kStartMs + 950);
  EXPECT_EQ(engine.Outstanding(), 4);
  EXPECT_EQ(view.phase(), v1::ROOM_PHASE_OPEN);
  // Once a queue exists, only eligible demand gets budget.
}

// Syncs `agent` every 500 ms for `ticks` ticks, each reporting `newcomers` direct arrivals
// and returning the budget it got (nobody came in); advances `now`.
void SyncNewcomers(RoomEngine& engine, const std::string& agent, int64_t newcomers, int ticks,
                   int64_t& now, v1::RoomView& view) {
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_direct_arrivals(newcomers);
  for (int tick = 0; tick < ticks; ++tick, now += 500) {
    report.set_budget_unspent(view.budget());
    engine.Apply(agent, report, false, now, &view);
  }
}

// Sends `report` from a1 (two newcomers, the budget it held returned), then one plain tick, so
// that what the report added is counted as waiting when the tick's grant is made.
void SyncThenTick(RoomEngine& engine, v1::RoomReport report, int64_t& now, v1::RoomView& view) {
  report.set_room_id("room");
  report.set_direct_arrivals(2);
  report.set_budget_unspent(view.budget());
  engine.Apply("a1", report, false, now, &view);
  now += 500;
  SyncNewcomers(engine, "a1", 2, 1, now, view);
}

// Adds `count` users who queued in `bucket` and are present in the epoch of `now_ms`.
void AddQueued(v1::RoomReport& report, int64_t bucket, int64_t count, int64_t now_ms) {
  auto* a = report.add_arrivals();
  a->set_bucket(bucket);
  a->set_count(count);
  auto* p = report.add_presence();
  p->set_bucket(bucket);
  p->set_epoch(EpochOfMs(now_ms, 5));
  p->set_count(count);
}

// The marker and ETAs are recomputed at most every recompute_interval_ms under Sync load, but
// an operator asking for the status right after a Sync sees that Sync's users.
TEST(RoomEngineTest, StatusCountsASyncAppliedJustBefore) {
  RoomEngine engine(MakeRoom(/*capacity=*/1, /*rate=*/1000), {}, Plain());
  v1::RoomView view;
  v1::RoomReport first;
  first.set_room_id("room");
  AddQueued(first, kStartMs / 1000 - 2, 3, kStartMs);
  first.set_invalid_tokens(1);
  engine.Apply("a1", first, false, kStartMs, &view);
  ASSERT_EQ(engine.Status(kStartMs).waiting(), 3);

  v1::RoomReport second;
  second.set_room_id("room");
  AddQueued(second, kStartMs / 1000 - 1, 2, kStartMs + 1);
  engine.Apply("a2", second, false, kStartMs + 1, &view);
  const v1::RoomStatus status = engine.Status(kStartMs + 1);
  EXPECT_EQ(status.waiting(), 5);
  EXPECT_EQ(status.oldest_waiting_bucket(), kStartMs / 1000 - 2);
  EXPECT_EQ(status.invalid_tokens(), 1);
  EXPECT_EQ(status.agents_size(), 2);
}

TEST(RoomEngineTest, PrefetchFollowsTheSmoothedArrivalRateWithBurstRoom) {
  RoomEngine engine(MakeRoom(1000, 100000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  v1::RoomView view;
  // Three newcomers every 500 ms tick: 6 a second, 6 per 1 s lease.
  int64_t now = kStartMs;
  for (int tick = 0; tick < 40; ++tick, now += 500) {
    report.set_direct_arrivals(3);
    engine.Apply("a1", report, false, now, &view);
  }
  // Mean 6 plus three standard deviations (7.3): far more than two ticks' worth (6).
  EXPECT_GE(view.budget(), 13);
  EXPECT_LE(view.budget(), 14);
  // A tick without newcomers barely moves the smoothed rate.
  report.set_direct_arrivals(0);
  engine.Apply("a1", report, false, now, &view);
  EXPECT_GE(view.budget(), 12);
  // Neither does a report at the same instant or from a clock that stepped back.
  engine.Apply("a1", report, false, now, &view);
  engine.Apply("a1", report, false, now - 2000, &view);
  EXPECT_GE(view.budget(), 12);
  now += 500;
  // A long quiet spell lets it go.
  for (int tick = 0; tick < 60; ++tick, now += 500) engine.Apply("a1", report, false, now, &view);
  EXPECT_LE(view.budget(), 1);
}

TEST(RoomEngineTest, PrefetchSharesTheFreeSeatsByArrivalRate) {
  RoomEngine engine(MakeRoom(12, 100000), {}, Plain());
  v1::RoomReport fast;
  fast.set_room_id("room");
  v1::RoomReport slow = fast;
  v1::RoomView a1;
  v1::RoomView a2;
  int64_t now = kStartMs;
  for (int tick = 0; tick < 40; ++tick, now += 500) {
    // a1 sees 2 newcomers a tick, a2 one every other tick: 4/s and 1/s.
    fast.set_direct_arrivals(2);
    fast.set_budget_unspent(a1.budget());  // Nobody came in after all: it all returns.
    engine.Apply("a1", fast, false, now, &a1);
    slow.set_direct_arrivals(tick % 2);
    slow.set_budget_unspent(a2.budget());
    engine.Apply("a2", slow, false, now + 1, &a2);
    ASSERT_LE(a1.budget() + a2.budget(), 12) << "tick " << tick << ": more held than is free";
  }
  // Alone, a1 would want 4 + 3 x 2 = 10 and a2 1 + 3 = 4; the 12 free seats split 4:1.
  EXPECT_EQ(a1.budget(), 9);
  EXPECT_LE(a2.budget(), 2);
}

TEST(RoomEngineTest, ShortQueueInARoomWithSeatsToSpareStillGetsPrefetch) {
  // 100 seats, nobody in; a1 sees 2 newcomers a tick (4/s).
  RoomEngine engine(MakeRoom(100, 100000, 60, 5), {}, Plain());
  v1::RoomView view;
  int64_t now = kStartMs;
  SyncNewcomers(engine, "a1", 2, 40, now, view);
  const int64_t alone = view.budget();
  EXPECT_EQ(alone, 10);  // 4 + 3 x 2.
  // Two of them came in one burst and queued; the queue shows at the agent's next Sync.
  v1::RoomReport report;
  AddQueued(report, now / 1000 - 1, 2, now);
  SyncThenTick(engine, report, now, view);
  ASSERT_EQ(engine.Status(now).waiting(), 2);
  // The room could seat them and more: the agent keeps budget for its arrival rate, which it
  // may spend only on users the marker reaches, so they get in at their next poll.
  EXPECT_EQ(view.budget(), alone);
}

TEST(RoomEngineTest, AFullRoomGivesNoPrefetchBesideItsQueue) {
  RoomEngine engine(MakeRoom(10, 100000, 60, 5), {}, Plain());
  v1::RoomView view;
  int64_t now = kStartMs;
  SyncNewcomers(engine, "a1", 2, 40, now, view);
  // Eight sessions start and twelve users queue: more wait than the two seats left.
  v1::RoomReport report;
  auto* d = report.add_session_deltas();
  d->set_slot(SlotCeilMs(now + 60'000));
  d->set_delta(8);
  AddQueued(report, now / 1000 - 1, 12, now);
  SyncThenTick(engine, report, now, view);
  ASSERT_EQ(engine.Status(now).waiting(), 12);
  EXPECT_EQ(view.budget(), 0) << "no eligible user asked, and no seat is spare";
}

TEST(RoomEngineTest, NeverGrantsPastCapacity) {
  RoomEngine engine(MakeRoom(3, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(10);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(view.budget(), 3);
  engine.Apply("a2", report, false, kStartMs + 10, &view);
  EXPECT_EQ(view.budget(), 0);
}

// A report of `count` users admitted on arrival, whose sessions end at `slot`.
v1::RoomReport Spent(int64_t count, int64_t slot) {
  v1::RoomReport report;
  report.set_room_id("room");
  auto* adm = report.add_admissions();
  adm->set_bucket(0);
  adm->set_count(count);
  auto* d = report.add_session_deltas();
  d->set_slot(slot);
  d->set_delta(count);
  return report;
}

TEST(RoomEngineTest, SpentBudgetBecomesSessionsAndUnspentReturns) {
  RoomEngine engine(MakeRoom(3, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(3);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  ASSERT_EQ(view.budget(), 3);

  // Two admitted, one returned.
  v1::RoomReport settle = Spent(2, SlotCeilMs(kStartMs + 400 + 60'000));
  settle.set_budget_unspent(1);
  settle.set_budget_wanted(0);
  engine.Apply("a1", settle, false, kStartMs + 400, &view);
  EXPECT_EQ(engine.Outstanding(), 0);
  EXPECT_EQ(engine.Active(), 2);
  EXPECT_EQ(engine.GrantedInRateWindow(), 2);
}

TEST(RoomEngineTest, SessionsAreFreedAHoldAfterTheirSlot) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  const int64_t slot = SlotCeilMs(kStartMs + 60'000);
  auto* d = report.add_session_deltas();
  d->set_slot(slot);
  d->set_delta(4);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(engine.Active(), 4);
  // Held for a lease and its grace past the slot, for renewals still on their way.
  const EngineOptions o = Plain();
  const int64_t freed_ms = slot * 1000 + o.lease_ms + o.lease_grace_ms;
  engine.Maintain(freed_ms - 1);
  EXPECT_EQ(engine.Active(), 4);
  engine.Maintain(freed_ms);
  EXPECT_EQ(engine.Active(), 0);
}

v1::RoomReport Wanting(std::vector<std::pair<int64_t, int64_t>> buckets, int64_t unspent = 0) {
  v1::RoomReport report;
  report.set_room_id("room");
  int64_t total = 0;
  for (const auto& [bucket, count] : buckets) {
    v1::BucketCount* w = report.add_wanted_buckets();
    w->set_bucket(bucket);
    w->set_count(count);
    total += count;
  }
  report.set_budget_wanted(total);
  report.set_budget_unspent(unspent);
  return report;
}

// A user who comes back just before the slot ends renews on its agent, which reports the move at
// its next Sync. Until then the old slot must still count, or its seat goes to someone else and
// the renewed session runs on beside the new one.
TEST(RoomEngineTest, AnEndingSlotKeepsItsSeatsUntilRenewalsCanBeReported) {
  RoomEngine engine(MakeRoom(1, 1000), {}, Plain());
  const int64_t slot = SlotCeilMs(kStartMs + 60'000);
  v1::RoomReport fill;
  fill.set_room_id("room");
  auto* d = fill.add_session_deltas();
  d->set_slot(slot);
  d->set_delta(1);
  v1::RoomView view;
  engine.Apply("a1", fill, false, kStartMs, &view);
  ASSERT_EQ(engine.Active(), 1);

  // Just past the slot, another agent asks for a waiting user: the seat is not free yet.
  const int64_t bucket = kStartMs / 1000;
  engine.Apply("a2", Wanting({{bucket, 1}}), false, slot * 1000 + 50, &view);
  EXPECT_EQ(view.budget(), 0);

  // a1 reports the renewal it made at slot - 0.1 s: the session moves on, the room stays full.
  v1::RoomReport renewal;
  renewal.set_room_id("room");
  const int64_t next_slot = SlotCeilMs(slot * 1000 - 100 + 60'000);
  auto* from = renewal.add_session_deltas();
  from->set_slot(slot);
  from->set_delta(-1);
  auto* to = renewal.add_session_deltas();
  to->set_slot(next_slot);
  to->set_delta(1);
  engine.Apply("a1", renewal, false, slot * 1000 + 300, &view);
  EXPECT_EQ(engine.Active(), 1);
  EXPECT_LE(engine.Active() + engine.Outstanding(), 1);
  engine.Apply("a2", Wanting({{bucket, 1}}), false, slot * 1000 + 2000, &view);
  EXPECT_EQ(view.budget(), 0);

  // Without a renewal the seat frees once the reports could have arrived (a lease and its
  // grace after the slot).
  engine.Maintain(next_slot * 1000 + 1499);
  EXPECT_EQ(engine.Active(), 1);
  engine.Maintain(next_slot * 1000 + 1500);
  EXPECT_EQ(engine.Active(), 0);
  engine.Apply("a2", Wanting({{bucket, 1}}), false, next_slot * 1000 + 1600, &view);
  EXPECT_EQ(view.budget(), 1);
}

// After a restart the agents' pending Syncs carry the renewals of slots that ended while the
// coordinator was down: those seats are held from the start, not from the slot.
TEST(RoomEngineTest, SlotsThatEndedDuringAnOutageAreHeldFromTheStart) {
  RoomState state;
  const int64_t slot = SlotCeilMs(kStartMs);
  state.sessions[slot] = 1;
  RoomEngine engine(MakeRoom(1, 1000), state, Plain());
  const int64_t start_ms = slot * 1000 + 30'000;  // Back 30 s after the slot ended.
  v1::RoomView view;
  engine.Apply("a2", Wanting({{slot, 1}}), false, start_ms, &view);
  EXPECT_EQ(view.budget(), 0);
  EXPECT_EQ(engine.Active(), 1);
  const EngineOptions o = Plain();
  engine.Maintain(start_ms + o.lease_ms + o.lease_grace_ms);
  EXPECT_EQ(engine.Active(), 0);
}

TEST(RoomEngineTest, ScarceBudgetGoesToTheOldestBucketsAcrossAgents) {
  RoomEngine engine(MakeRoom(4, 1000), {}, Plain());
  v1::RoomView view;
  // a1's young users ask first and get all four seats; a2's older users find none.
  engine.Apply("a1", Wanting({{200, 4}}), false, kStartMs, &view);
  EXPECT_EQ(view.budget(), 4);
  engine.Apply("a2", Wanting({{100, 3}}), false, kStartMs + 10, &view);
  EXPECT_EQ(view.budget(), 0);
  // a1 spent nothing and asks again: three seats wait for a2's older users, one is left.
  engine.Apply("a1", Wanting({{200, 4}}, /*unspent=*/4), false, kStartMs + 500, &view);
  EXPECT_EQ(view.budget(), 1);
  engine.Apply("a2", Wanting({{100, 3}}), false, kStartMs + 510, &view);
  EXPECT_EQ(view.budget(), 3);
  EXPECT_EQ(engine.Outstanding(), 4);
}

// Sessions that fill `seats` of the room until `until_ms`, reported by an agent of their own.
void FillSeats(RoomEngine& engine, int64_t seats, int64_t now_ms, int64_t until_ms) {
  v1::RoomReport fill;
  fill.set_room_id("room");
  auto* d = fill.add_session_deltas();
  d->set_slot(SlotCeilMs(until_ms));
  d->set_delta(seats);
  v1::RoomView view;
  engine.Apply("sessions", fill, false, now_ms, &view);
}

// One waiting user in `bucket`, seen by `agent` in the current epoch.
v1::RoomReport Waiter(int64_t bucket, int64_t now_ms, int64_t refresh_s) {
  v1::RoomReport report;
  report.set_room_id("room");
  auto* a = report.add_arrivals();
  a->set_bucket(bucket);
  a->set_count(1);
  auto* p = report.add_presence();
  p->set_bucket(bucket);
  p->set_epoch(EpochOfMs(now_ms, refresh_s));
  p->set_count(1);
  return report;
}

TEST(RoomEngineTest, UsersTheMarkerPassedKeepTheirSeatsUntilTheirAgentAsks) {
  // Two seats free for two waiting users, one per agent, two buckets apart. Then one seat
  // goes to a session renewed elsewhere, and the agent of the younger user asks first.
  RoomEngine engine(MakeRoom(10, 1000, 60, 5), {}, Plain());
  v1::RoomView view;
  FillSeats(engine, 8, kStartMs, kStartMs + 60'000);
  const int64_t t0 = kStartMs + 500;  // The whole test stays in one 5 s epoch.
  const int64_t old_bucket = t0 / 1000 - 5;
  const int64_t young_bucket = old_bucket + 2;
  engine.Apply("a1", Waiter(old_bucket, t0, 5), false, t0, &view);
  engine.Apply("a2", Waiter(young_bucket, t0, 5), false, t0 + 10, &view);
  v1::RoomStatus status = engine.Status(t0 + 200);
  ASSERT_EQ(status.marker().admit_through_bucket(), young_bucket);
  FillSeats(engine, 1, t0 + 300, kStartMs + 60'000);

  // a2 asks for its user; a1 has not seen its (older) user poll since he became eligible.
  engine.Apply("a2", Wanting({{young_bucket, 1}}), false, t0 + 400, &view);
  EXPECT_EQ(view.budget(), 0) << "the younger user took the older one's seat";
  engine.Apply("a1", Wanting({{old_bucket, 1}}), false, t0 + 500, &view);
  EXPECT_EQ(view.budget(), 1);

  // a1 gives the seat back and no longer asks for its user (he did not poll again): the seat
  // stays his until the claim window since the marker reached him ends, then a2's user gets it.
  engine.Apply("a1", Wanting({}, /*unspent=*/1), false, t0 + 600, &view);
  engine.Apply("a2", Wanting({{young_bucket, 1}}), false, t0 + 700, &view);
  EXPECT_EQ(view.budget(), 0);
  const int64_t window_end = t0 + 200 + 1000 + 2 * EngineOptions().lease_ms;
  engine.Apply("a2", Wanting({{young_bucket, 1}}), false, window_end - 100, &view);
  EXPECT_EQ(view.budget(), 0);
  engine.Apply("a2", Wanting({{young_bucket, 1}}), false, window_end, &view);
  EXPECT_EQ(view.budget(), 1);
}

TEST(RoomEngineTest, ScarceBudgetInOneBucketIsSharedInProportion) {
  RoomEngine engine(MakeRoom(4, 1000), {}, Plain());
  v1::RoomView view;
  engine.Apply("a1", Wanting({{100, 6}}), false, kStartMs, &view);
  EXPECT_EQ(view.budget(), 4);
  engine.Apply("a2", Wanting({{90, 1}, {100, 2}}), false, kStartMs + 10, &view);
  EXPECT_EQ(view.budget(), 0);
  // a1 gives everything back and asks again: a2's user of bucket 90 comes first (one seat),
  // and the three left are shared 6:2 in bucket 100, rounding up: all three to a1.
  engine.Apply("a1", Wanting({{100, 6}}, /*unspent=*/4), false, kStartMs + 500, &view);
  EXPECT_EQ(view.budget(), 3);
  engine.Apply("a2", Wanting({{90, 1}, {100, 2}}), false, kStartMs + 510, &view);
  EXPECT_EQ(view.budget(), 1);
}

TEST(RoomEngineTest, RateLimitCountsGrantsOverTheWindow) {
  RoomEngine engine(MakeRoom(1000, 10), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(7);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(view.budget(), 7);
  // Spent all; asks again: only 3 left in this minute.
  report.set_budget_unspent(0);
  engine.Apply("a1", report, false, kStartMs + 500, &view);
  EXPECT_EQ(view.budget(), 3);
  engine.Apply("a1", report, false, kStartMs + 30'000, &view);
  EXPECT_EQ(view.budget(), 0);
  // After the window (61 s and a lease) the tokens are back.
  engine.Apply("a1", report, false, kStartMs + 62'000, &view);
  EXPECT_EQ(view.budget(), 7);
}

// Grants are counted by the second they fall in. Budget granted late in one second and spent
// early in the next shares a 60 s window with budget granted 61 s after that second began, so
// the window must reach back one second further than 60 s and a lease.
TEST(RoomEngineTest, RateWindowCoversGrantsSpentAcrossASecondBoundary) {
  EngineOptions o = Plain();
  o.lease_ms = 400;  // Two ticks of 200 ms, as the surge simulator runs.
  o.lease_grace_ms = 200;
  RoomEngine engine(MakeRoom(1000, 10), {}, o);
  const int64_t second_ms = kStartMs + 9'000;  // kStartMs is a whole second.
  v1::RoomReport want;
  want.set_room_id("room");
  want.set_budget_wanted(10);
  v1::RoomView view;
  engine.Apply("a1", want, false, second_ms + 950, &view);
  ASSERT_EQ(view.budget(), 10);
  // All ten are spent at +1.3 s, inside the lease: a 60 s window from there runs to +61.3 s.
  engine.Apply("a1", Spent(10, SlotCeilMs(second_ms + 1'300 + 60'000)), false, second_ms + 1'300,
               &view);
  EXPECT_EQ(view.budget(), 0);
  // At +61.2 s, budget spent at once would be the 11th admission of [+1.3 s, +61.3 s].
  engine.Apply("a2", want, false, second_ms + 61'200, &view);
  EXPECT_EQ(view.budget(), 0);
  // Once no 60 s window can hold both, the tokens are back.
  engine.Apply("a2", want, false, second_ms + 63'000, &view);
  EXPECT_EQ(view.budget(), 10);
}

TEST(RoomEngineTest, QueueAllAndPrequeueGrantNothing) {
  v1::Room room = MakeRoom(100, 100);
  room.set_queue_all(true);
  RoomEngine engine(room, {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(5);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(view.phase(), v1::ROOM_PHASE_QUEUE_ALL);
  EXPECT_EQ(view.budget(), 0);

  v1::Room event_room = MakeRoom(100, 100);
  const int64_t start_s = kStartMs / 1000 + 60;
  event_room.mutable_event()->set_prequeue_start_unix(start_s - 600);
  event_room.mutable_event()->set_start_unix(start_s);
  event_room.mutable_event()->set_shuffle_at_event_start(true);
  event_room.mutable_event()->mutable_overrides()->set_total_active_users(7);
  RoomEngine event_engine(event_room, {}, Plain());
  event_engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(view.phase(), v1::ROOM_PHASE_PREQUEUE);
  EXPECT_EQ(view.budget(), 0);
  EXPECT_EQ(view.shuffle_base_bucket(), start_s - 600);
  EXPECT_EQ(view.shuffle_span(), 600);
  event_engine.Apply("a1", report, false, start_s * 1000, &view);
  EXPECT_EQ(view.phase(), v1::ROOM_PHASE_EVENT);
  EXPECT_EQ(view.total_active_users(), 7);
  EXPECT_EQ(view.budget(), 5);
}

// The wait estimate blends the limits with the outflow the queue really had. A prequeue has a
// queue and, by design, no admissions: its windows must not count as a queue that drained at 0,
// nor may the window in which the event starts count as a whole one.
TEST(RoomEngineTest, PrequeueWindowsDoNotDiluteTheObservedOutflow) {
  v1::Room room = MakeRoom(/*capacity=*/1000, /*rate=*/600, /*session_s=*/60);
  const int64_t start_s = kStartMs / 1000 + 45;  // Mid-window: kStartMs is on a 10 s boundary.
  room.mutable_event()->set_prequeue_start_unix(kStartMs / 1000 - 10);
  room.mutable_event()->set_start_unix(start_s);
  RoomEngine engine(room, {}, Plain());
  const int64_t bucket = kStartMs / 1000 - 5;
  int64_t present = 600;
  v1::RoomView view;
  // 45 s of prequeue, then 40 s in which the agent lets in 5 users a second, half what the
  // limits allow.
  for (int64_t now = kStartMs; now < (start_s + 40) * 1000; now += 500) {
    v1::RoomReport report;
    report.set_room_id("room");
    if (now == kStartMs) {
      auto* a = report.add_arrivals();
      a->set_bucket(bucket);
      a->set_count(present);
    }
    if (now >= start_s * 1000 && now % 1000 == 0) {
      auto* adm = report.add_admissions();
      adm->set_bucket(bucket);
      adm->set_epoch(EpochOfMs(now, 5));
      adm->set_count(5);
      present -= 5;
    }
    // Each waiting user is counted once an epoch, at the epoch's first tick.
    if (EpochOfMs(now, 5) != EpochOfMs(now - 500, 5) || now == kStartMs) {
      auto* p = report.add_presence();
      p->set_bucket(bucket);
      p->set_epoch(EpochOfMs(now, 5));
      p->set_count(present);
    }
    engine.Apply("a1", report, false, now, &view);
    engine.Maintain(now + 250);
  }
  ASSERT_GT(present, 0);
  // The line moved 5 a second since the start, half what the limits allow: that is the pace
  // ETAs use (0.2 s a user). Counting the prequeue, when nobody could move, would halve it; the
  // limits alone would say 0.1 s.
  EXPECT_NEAR(view.seconds_per_user(), 0.2, 0.02);
}

// A restarted coordinator has heard nothing for the epochs it was down. Users it last counted
// before that are still there until the agents' reports say otherwise; dropping them made the
// marker move past them, to younger users who polled first after the restart.
TEST(RoomEngineTest, ARestartKeepsTheUsersItCouldNotHear) {
  v1::Room room = MakeRoom(/*capacity=*/2, /*rate=*/1000, /*session_s=*/60, /*refresh_s=*/5);
  RoomEngine before(room, {}, Plain());
  const int64_t now_s = kStartMs / 1000;
  const int64_t older = now_s - 10, younger = now_s - 5;
  v1::RoomReport fill;
  fill.set_room_id("room");
  auto* d = fill.add_session_deltas();
  d->set_slot(SlotCeilMs(kStartMs + 60'000));
  d->set_delta(2);  // The room is full.
  AddQueued(fill, older, 3, kStartMs);
  AddQueued(fill, younger, 3, kStartMs);
  v1::RoomView view;
  before.Apply("a1", fill, false, kStartMs, &view);
  ASSERT_EQ(before.Status(kStartMs + 200).waiting(), 6);

  // Killed, and back 12 s later: two 5 s epochs went by unheard.
  const int64_t back = kStartMs + 12'000;
  RoomEngine after(room, before.state(), Plain());
  EXPECT_EQ(after.Status(back).waiting(), 6);
  // The first report after the restart: one session ended, the younger users polled first in
  // the new epoch, and one of the older ones. The seat goes to the older bucket.
  v1::RoomReport first;
  first.set_room_id("room");
  auto* r = first.add_session_deltas();
  r->set_slot(SlotCeilMs(kStartMs + 60'000));
  r->set_delta(-1);
  auto* p = first.add_presence();
  p->set_bucket(younger);
  p->set_epoch(EpochOfMs(back, 5));
  p->set_count(3);
  auto* o = first.add_presence();
  o->set_bucket(older);
  o->set_epoch(EpochOfMs(back, 5));
  o->set_count(1);
  after.Apply("a1", first, false, back, &view);
  const v1::RoomStatus status = after.Status(back + 1000);
  EXPECT_EQ(status.waiting(), 6);
  EXPECT_EQ(status.marker().admit_through_bucket(), older);
  EXPECT_LT(status.marker().fraction(), 1.0);

  // Once the agents have reported for a whole epoch, users nobody counted have left.
  v1::RoomReport later;
  later.set_room_id("room");
  auto* q = later.add_presence();
  q->set_bucket(younger);
  q->set_epoch(EpochOfMs(back + 10'000, 5));
  q->set_count(3);
  after.Apply("a1", later, false, back + 10'000, &view);
  EXPECT_EQ(after.Status(back + 12'000).waiting(), 3);
}

TEST(RoomEngineTest, ModesReportTheirPhase) {
  struct Case {
    std::function<void(v1::Room&)> set;
    v1::RoomPhase phase;
  };
  std::vector<Case> cases = {
      {[](v1::Room& r) { r.set_suspended(true); }, v1::ROOM_PHASE_SUSPENDED},
      {[](v1::Room& r) { r.set_queueing_method(v1::QUEUEING_METHOD_REJECT); },
       v1::ROOM_PHASE_CLOSED},
      {[](v1::Room& r) { r.set_queueing_method(v1::QUEUEING_METHOD_PASSTHROUGH); },
       v1::ROOM_PHASE_PASSTHROUGH},
      {[](v1::Room& r) { r.set_queueing_method(v1::QUEUEING_METHOD_RANDOM); }, v1::ROOM_PHASE_OPEN},
  };
  for (const Case& c : cases) {
    v1::Room room = MakeRoom(10, 10);
    c.set(room);
    RoomEngine engine(room, {}, Plain());
    v1::RoomReport report;
    report.set_room_id("room");
    report.set_budget_wanted(1);
    v1::RoomView view;
    engine.Apply("a1", report, false, kStartMs, &view);
    EXPECT_EQ(view.phase(), c.phase);
    EXPECT_EQ(view.budget() > 0, c.phase == v1::ROOM_PHASE_OPEN);
  }
}

TEST(RoomEngineTest, ExpiredLeaseIsPresumedSpentUntilTheAgentSettles) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(4);
  v1::RoomView view;
  engine.Apply("dead", report, false, kStartMs, &view);
  ASSERT_EQ(view.budget(), 4);
  // The agent vanishes: past its lease and grace, the budget counts as sessions.
  engine.Maintain(kStartMs + 2000);
  EXPECT_EQ(engine.Outstanding(), 0);
  EXPECT_EQ(engine.Active(), 4);
  // It comes back having spent one; the presumption is replaced by what it reports.
  v1::RoomReport late;
  late.set_room_id("room");
  late.set_budget_unspent(3);
  auto* d = late.add_session_deltas();
  d->set_slot(SlotCeilMs(kStartMs + 900 + 60'000));
  d->set_delta(1);
  engine.Apply("dead", late, false, kStartMs + 2100, &view);
  EXPECT_EQ(engine.Active(), 1);
}

TEST(RoomEngineTest, FinalSyncReturnsEverything) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  report.set_budget_wanted(4);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  report.set_budget_unspent(4);
  engine.Apply("a1", report, true, kStartMs + 100, &view);
  EXPECT_EQ(view.budget(), 0);
  EXPECT_EQ(engine.Outstanding(), 0);
  EXPECT_EQ(engine.GrantedInRateWindow(), 0);
  EXPECT_EQ(engine.Status(kStartMs + 200).agents_size(), 0);
}

TEST(RoomEngineTest, MarkerCoversOldestBucketsFirst) {
  RoomEngine engine(MakeRoom(2, 1000, 60, 5), {}, Plain());
  v1::RoomView view;
  // Two sessions fill the room.
  v1::RoomReport fill;
  fill.set_room_id("room");
  auto* d = fill.add_session_deltas();
  d->set_slot(SlotCeilMs(kStartMs + 60'000));
  d->set_delta(2);
  engine.Apply("a1", fill, false, kStartMs, &view);
  // Then three users queue, one a second.
  const int64_t t0 = kStartMs + 3000;
  const int64_t now_s = t0 / 1000;
  const int64_t epoch = EpochOfMs(t0, 5);
  v1::RoomReport report;
  report.set_room_id("room");
  for (int i = 3; i >= 1; --i) {
    auto* a = report.add_arrivals();
    a->set_bucket(now_s - i);
    a->set_count(1);
    auto* p = report.add_presence();
    p->set_bucket(now_s - i);
    p->set_epoch(epoch);
    p->set_count(1);
  }
  engine.Apply("a1", report, false, t0, &view);
  v1::RoomStatus status = engine.Status(t0 + 200);
  EXPECT_EQ(status.waiting(), 3);
  EXPECT_LT(status.marker().admit_through_bucket(), now_s - 3);
  EXPECT_EQ(status.oldest_waiting_bucket(), now_s - 3);
  // One session ends (revoked): exactly the oldest bucket becomes eligible.
  v1::RoomReport revoke;
  revoke.set_room_id("room");
  auto* r = revoke.add_session_deltas();
  r->set_slot(SlotCeilMs(kStartMs + 60'000));
  r->set_delta(-1);
  engine.Apply("a1", revoke, false, t0 + 300, &view);
  status = engine.Status(t0 + 500);
  EXPECT_EQ(status.marker().admit_through_bucket(), now_s - 3);
  EXPECT_DOUBLE_EQ(status.marker().fraction(), 1.0);
  // The table lists each waiting bucket with growing positions and waits.
  ASSERT_EQ(view.eta_size(), 3);
  EXPECT_EQ(view.eta(2).users_ahead(), 2);
  EXPECT_LE(view.eta(0).eta_seconds(), view.eta(2).eta_seconds());
}

TEST(RoomEngineTest, AnIdleAgentKeepsOneSeatWhileSeatsArePlenty) {
  RoomEngine engine(MakeRoom(4, 100), {}, {});
  v1::RoomReport report;
  report.set_room_id("room");
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  EXPECT_EQ(view.budget(), 1);
  engine.Apply("a2", report, false, kStartMs + 10, &view);
  EXPECT_EQ(view.budget(), 1);
  engine.Apply("a3", report, false, kStartMs + 20, &view);
  EXPECT_EQ(view.budget(), 0) << "idle agents may not hold more than half the free seats";
}

TEST(RoomEngineTest, ChangesListTouchedKeys) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  v1::RoomReport report;
  report.set_room_id("room");
  auto* a = report.add_arrivals();
  a->set_bucket(kStartMs / 1000);
  a->set_count(1);
  auto* d = report.add_session_deltas();
  d->set_slot(SlotCeilMs(kStartMs + 60'000));
  d->set_delta(1);
  v1::RoomView view;
  engine.Apply("a1", report, false, kStartMs, &view);
  RoomChanges changes = engine.TakeChanges();
  EXPECT_TRUE(changes.core);
  EXPECT_EQ(changes.buckets, std::vector<int64_t>{kStartMs / 1000});
  EXPECT_EQ(changes.slots, std::vector<int64_t>{SlotCeilMs(kStartMs + 60'000)});
  EXPECT_TRUE(engine.TakeChanges().empty());
}

// ----- Randomized invariants -----
// Users arrive, queue, poll, spend budget, renew, revoke and leave; agents sync every tick
// and some die holding budget; some runs change the room's limits and queue_all mid-run, or
// run an event with a shuffled prequeue and its own seat limit. I1, I2, I3 and I5 are checked
// at every step against the limits in force.

// When a waiting page polls again, as the agent tells it (agent/queue_position.cc): users the
// front could reach before a slower poll poll at half the time it needs at the fastest the
// queue moves, others at the room's refresh interval.
int64_t PagePollMs(const v1::RoomView& view, int64_t bucket, double frac, int64_t refresh_ms) {
  // Before the event starts nobody moves: the page polls at the room's pace.
  if (view.phase() == v1::ROOM_PHASE_PREQUEUE) return refresh_ms;
  int64_t ahead = view.waiting();
  for (const v1::EtaEntry& e : view.eta()) {
    if (e.first_bucket() > bucket) break;
    ahead = e.users_ahead() + (bucket > e.last_bucket()
                                   ? e.waiting()
                                   : static_cast<int64_t>(frac * static_cast<double>(e.waiting())));
  }
  const double outflow = view.max_outflow_per_second();
  if (outflow <= 0) return refresh_ms;
  const auto reach_ms = static_cast<int64_t>(static_cast<double>(ahead) / outflow / 2.0 * 1000.0);
  return std::clamp<int64_t>(reach_ms / 1000 * 1000, 1000, refresh_ms);
}

struct SimUser {
  double frac;         // Visitor hash as a fraction in [0, 1).
  int64_t bucket = 0;  // 0 = admitted on arrival.
  int agent = 0;
  bool admitted = false;
  bool gone = false;
  int64_t expiry_ms = 0;
  int64_t last_epoch = -1;
  int64_t next_poll_ms = 0;
  int64_t eligible_since_ms = -1;
};

struct SimAgent {
  std::string id;
  bool alive = true;
  int64_t next_sync_ms = 0;
  int64_t budget = 0;
  int64_t lease_expiry_ms = 0;
  int64_t wanted_eligible = 0, wanted_previous = 0;      // Eligible polls over the last two ticks.
  std::map<int64_t, int64_t> wanted_now, wanted_before;  // The same, by bucket.
  v1::RoomView view;
  std::map<int64_t, int64_t> arrivals;
  std::map<std::pair<int64_t, int64_t>, int64_t> presence, admissions;
  std::map<int64_t, int64_t> deltas;
  int64_t direct = 0;
};

struct SimParams {
  uint64_t seed;
  v1::QueueingMethod method = v1::QUEUEING_METHOD_FIFO;
  int64_t capacity = 50;
  int64_t rate = 120;
  double arrivals_per_s = 6;
  int agents = 4;
  int steps = 3000;  // of 100 ms
  // Chance per sync that an agent dies holding budget. Its budget is then presumed spent until
  // those sessions would have ended, which delays others: I5 is checked only without deaths.
  double death_rate = 0.003;
  // Whether agents say by bucket what they want, as the real agent does.
  bool by_bucket = false;
  // Whether the operator changes the room mid-run: at a quarter of the steps the limits are
  // halved, at half the room queues everyone for 10 s, and after that the limits are set to
  // 1.5x the first ones.
  bool reconfigure = false;
  // Whether the room has an event: a prequeue for the first 30 s (arrivals get lottery buckets
  // before the start), then 2x the seats until two thirds of the run, then the base limits.
  bool event = false;
};

void PrintTo(const SimParams& p, std::ostream* os) { *os << "seed " << p.seed; }

class RoomEngineInvariantTest : public ::testing::TestWithParam<SimParams> {};

TEST_P(RoomEngineInvariantTest, KeepsI1I2I3I5UnderRandomTraffic) {
  const SimParams p = GetParam();
  std::mt19937_64 rng(p.seed);
  std::uniform_real_distribution<double> uni(0, 1);
  v1::Room room = MakeRoom(p.capacity, p.rate, /*session_s=*/30, /*refresh_s=*/4);
  room.set_queueing_method(p.method);
  const int64_t event_start_s = kStartMs / 1000 + 30;
  const int64_t event_end_s = kStartMs / 1000 + p.steps / 10 * 2 / 3;
  if (p.event) {
    v1::Event* ev = room.mutable_event();
    ev->set_prequeue_start_unix(kStartMs / 1000);
    ev->set_start_unix(event_start_s);
    ev->set_end_unix(event_end_s);
    ev->set_shuffle_at_event_start(true);
    ev->mutable_overrides()->set_total_active_users(2 * p.capacity);
  }
  RoomEngine engine(room, {}, Plain());
  const int64_t session_ms = 30'000, refresh_ms = 4000, tick_ms = 500;

  std::vector<SimAgent> agents(p.agents);
  for (int i = 0; i < p.agents; ++i) {
    agents[i].id = "agent-" + std::to_string(i);
    agents[i].next_sync_ms = kStartMs + i * tick_ms / p.agents;
  }
  std::vector<SimUser> users;
  std::deque<int64_t> admission_times;
  int64_t max_eligible_wait_ms = 0;
  // I5: how long the oldest waiting user has waited while seats and tokens were free.
  int64_t oldest_free_since_ms = -1;
  const SimUser* oldest_seen = nullptr;
  int64_t max_oldest_free_wait_ms = 0;
  int agent_generation = 0;
  // The limits in force: the operator's (changed by `reconfigure`) or the event's seats.
  // Lowering a limit cannot take back what is already in: until the room is under the new
  // limit the old one still bounds it, and no grant may be made.
  int64_t base_capacity = p.capacity, rate = p.rate;
  int64_t capacity = p.capacity, capacity_bound = p.capacity;
  int64_t rate_bound = p.rate, rate_bound_until_ms = 0;
  int64_t queue_all_since_ms = -1;
  int64_t admitted_while_queueing_all = 0;
  int64_t admitted_in_prequeue = 0;
  // I5 is measured only from a while after a change: users learn it at their next poll.
  int64_t i5_from_ms = 0;
  auto set_capacity = [&](int64_t now, int64_t new_capacity) {
    if (new_capacity == capacity) return;
    capacity_bound = std::max(capacity_bound, new_capacity);
    capacity = new_capacity;
    i5_from_ms = now + refresh_ms + 2 * tick_ms;
  };
  auto reconfigure = [&](int64_t now, int64_t new_capacity, int64_t new_rate, bool queue_all) {
    // The last 60 s may hold more admissions than a lower rate allows.
    rate_bound = std::max(rate, new_rate);
    rate_bound_until_ms = now + 60'000;
    i5_from_ms = now + refresh_ms + 2 * tick_ms;
    base_capacity = new_capacity;
    rate = new_rate;
    queue_all_since_ms = queue_all ? now : -1;
    v1::Room changed = room;
    changed.set_total_active_users(new_capacity);
    changed.set_new_users_per_minute(new_rate);
    changed.set_queue_all(queue_all);
    engine.SetConfig(changed);
  };

  auto pick_alive = [&]() {
    std::vector<int> alive;
    for (int i = 0; i < static_cast<int>(agents.size()); ++i)
      if (agents[i].alive) alive.push_back(i);
    return alive[rng() % alive.size()];
  };

  for (int step = 0; step < p.steps; ++step) {
    const int64_t now = kStartMs + step * 100;
    const int64_t now_s = FloorDiv(now, 1000);
    const int64_t epoch = EpochOfMs(now, 4);
    if (p.reconfigure) {
      if (step == p.steps / 4) {
        reconfigure(now, std::max<int64_t>(1, p.capacity / 2), std::max<int64_t>(1, p.rate / 2),
                    false);
      } else if (step == p.steps / 2) {
        reconfigure(now, base_capacity, rate, true);
      } else if (step == p.steps / 2 + 100) {
        reconfigure(now, p.capacity * 3 / 2, p.rate * 3 / 2, false);
      }
    }
    const bool in_event = p.event && now_s >= event_start_s && now_s < event_end_s;
    set_capacity(now, in_event ? 2 * p.capacity : base_capacity);
    // Once the room is under a lowered limit, that limit alone bounds it: an ending slot's seats
    // are held until its renewals are reported. (Renewals a dying agent never reported are
    // lost, the one way the count can dip and rise again; no seed here has hit it.)
    if (engine.Active() + engine.Outstanding() <= capacity) capacity_bound = capacity;
    const bool in_prequeue = p.event && now_s < event_start_s;
    if (in_prequeue) {
      // Nobody gets budget before the event starts.
      ASSERT_EQ(engine.Outstanding(), 0) << "step " << step;
    }

    auto admit = [&](SimUser& u, SimAgent& a) {
      admitted_in_prequeue += in_prequeue;
      // Budget granted before queue_all was set may be spent until its lease ends (1 s).
      if (queue_all_since_ms >= 0 && now > queue_all_since_ms + 1000) {
        ++admitted_while_queueing_all;
      }
      a.budget--;
      u.admitted = true;
      u.expiry_ms = now + session_ms;
      a.deltas[SlotCeilMs(u.expiry_ms)] += 1;
      a.admissions[{u.bucket, u.last_epoch}] += 1;
      admission_times.push_back(now);
      // I3 (FIFO): nobody older than one bucket still waits without being eligible.
      if (p.method == v1::QUEUEING_METHOD_FIFO && u.bucket > 0) {
        for (const SimUser& o : users) {
          if (o.admitted || o.gone || o.bucket == 0 || o.bucket >= u.bucket - 1) continue;
          EXPECT_TRUE(Eligible(a.view.marker(), o.bucket, o.frac))
              << "user of bucket " << u.bucket << " admitted before bucket " << o.bucket;
        }
      }
    };
    auto can_spend = [&](const SimAgent& a) { return a.budget > 0 && now < a.lease_expiry_ms; };

    // Arrivals.
    std::poisson_distribution<int> arrivals(p.arrivals_per_s * 0.1 * (step < p.steps / 2 ? 3 : 1));
    for (int n = arrivals(rng); n > 0; --n) {
      SimUser u;
      u.frac = uni(rng);
      u.agent = pick_alive();
      SimAgent& a = agents[u.agent];
      a.direct++;
      const bool no_queue = a.view.waiting() == 0;
      if (no_queue && can_spend(a)) {
        users.push_back(u);
        admit(users.back(), a);
        continue;
      }
      u.bucket = now_s;
      if (a.view.phase() == v1::ROOM_PHASE_PREQUEUE && a.view.shuffle_span() > 0) {
        // The agent's lottery: every prequeue user precedes later arrivals, in random order.
        u.bucket = a.view.shuffle_base_bucket() +
                   static_cast<int64_t>(u.frac * static_cast<double>(a.view.shuffle_span()));
      }
      u.last_epoch = epoch;
      u.next_poll_ms = now + 1000;
      a.arrivals[u.bucket]++;
      a.presence[{u.bucket, epoch}]++;
      users.push_back(u);
    }

    // Users act.
    for (SimUser& u : users) {
      if (u.gone) continue;
      if (!agents[u.agent].alive || uni(rng) < 0.002) u.agent = pick_alive();
      SimAgent& a = agents[u.agent];
      if (u.admitted) {
        if (now >= SlotCeilMs(u.expiry_ms) * 1000) {
          u.gone = true;
          continue;
        }
        const double r = uni(rng);
        if (r < 0.001) {  // Revoked by the origin (checkout done).
          a.deltas[SlotCeilMs(u.expiry_ms)] -= 1;
          u.gone = true;
        } else if (r < 0.02) {  // Another request: renewal.
          const int64_t old_slot = SlotCeilMs(u.expiry_ms);
          u.expiry_ms = now + session_ms;
          if (SlotCeilMs(u.expiry_ms) != old_slot) {
            a.deltas[old_slot] -= 1;
            a.deltas[SlotCeilMs(u.expiry_ms)] += 1;
          }
        } else if (r < 0.025) {
          u.gone = true;  // Leaves; the session runs out on its own.
        }
        continue;
      }
      if (uni(rng) < 0.0005) {  // Abandons the queue.
        u.gone = true;
        continue;
      }
      if (now < u.next_poll_ms) continue;
      const bool eligible = p.method == v1::QUEUEING_METHOD_RANDOM
                                ? uni(rng) < a.view.marker().probability()
                                : Eligible(a.view.marker(), u.bucket, u.frac);
      if (eligible && u.eligible_since_ms < 0) u.eligible_since_ms = now;
      if (eligible && can_spend(a)) {
        admit(u, a);
        max_eligible_wait_ms = std::max(max_eligible_wait_ms, now - u.eligible_since_ms);
        continue;
      }
      if (u.last_epoch < epoch) {
        a.presence[{u.bucket, epoch}]++;
        u.last_epoch = epoch;
      }
      if (eligible) {
        a.wanted_eligible++;
        a.wanted_now[u.bucket]++;
      }
      u.next_poll_ms = now + (eligible ? 1000 : PagePollMs(a.view, u.bucket, u.frac, refresh_ms));
    }

    // Agents sync; sometimes one dies and a fresh one replaces it.
    std::vector<SimAgent> replacements;
    for (SimAgent& a : agents) {
      if (!a.alive || now < a.next_sync_ms) continue;
      if (uni(rng) < p.death_rate) {
        a.alive = false;  // Dies with its unreported counts and budget.
        SimAgent fresh;
        fresh.id = "agent-new-" + std::to_string(++agent_generation);
        fresh.next_sync_ms = now + 100;
        replacements.push_back(fresh);
        continue;
      }
      v1::RoomReport r;
      r.set_room_id("room");
      for (auto& [b, c] : a.arrivals) {
        auto* x = r.add_arrivals();
        x->set_bucket(b);
        x->set_count(c);
      }
      for (auto& [k, c] : a.presence) {
        auto* x = r.add_presence();
        x->set_bucket(k.first);
        x->set_epoch(k.second);
        x->set_count(c);
      }
      for (auto& [k, c] : a.admissions) {
        auto* x = r.add_admissions();
        x->set_bucket(k.first);
        x->set_epoch(k.second);
        x->set_count(c);
      }
      for (auto& [s, d] : a.deltas) {
        if (d == 0) continue;
        auto* x = r.add_session_deltas();
        x->set_slot(s);
        x->set_delta(d);
      }
      r.set_budget_unspent(now < a.lease_expiry_ms ? a.budget : 0);
      r.set_budget_wanted(a.wanted_eligible + a.wanted_previous);
      if (p.by_bucket) {
        std::map<int64_t, int64_t> wanted = a.wanted_before;
        for (const auto& [b, c] : a.wanted_now) wanted[b] += c;
        for (const auto& [b, c] : wanted) {
          auto* w = r.add_wanted_buckets();
          w->set_bucket(b);
          w->set_count(c);
        }
      }
      a.wanted_before = std::move(a.wanted_now);
      a.wanted_now.clear();
      r.set_direct_arrivals(a.direct);
      a.arrivals.clear();
      a.presence.clear();
      a.admissions.clear();
      a.deltas.clear();
      a.direct = 0;
      a.wanted_previous = a.wanted_eligible;
      a.wanted_eligible = 0;
      engine.Apply(a.id, r, false, now, &a.view);
      a.budget = a.view.budget();
      a.lease_expiry_ms = a.view.lease_expiry_ms();
      a.next_sync_ms = now + tick_ms;

      // I1 as the coordinator counts it.
      ASSERT_LE(engine.Active() + engine.Outstanding(), capacity_bound) << "step " << step;
      // A grant always fits under the limit in force, lowered or not.
      if (a.view.budget() > 0) {
        ASSERT_LE(engine.Active() + engine.Outstanding(), capacity) << "step " << step;
      }
      // ETAs are finite and grow with the bucket.
      int64_t last_eta = 0, last_bucket = INT64_MIN;
      for (const v1::EtaEntry& e : a.view.eta()) {
        EXPECT_GE(e.eta_seconds(), last_eta);
        EXPECT_GT(e.first_bucket(), last_bucket);
        EXPECT_LT(e.eta_seconds(), 86400);
        last_eta = e.eta_seconds();
        last_bucket = e.first_bucket();
      }
    }
    // Users of a dead agent carry their cookies to whichever agent now sits at that index.
    for (SimAgent& fresh : replacements) agents.push_back(std::move(fresh));
    agents.erase(
        std::remove_if(agents.begin(), agents.end(), [](const SimAgent& a) { return !a.alive; }),
        agents.end());
    const int agent_count = static_cast<int>(agents.size());
    for (SimUser& u : users) {
      if (u.agent >= agent_count) u.agent = static_cast<int>(rng() % agent_count);
    }

    engine.Maintain(now);
    ASSERT_LE(engine.Active() + engine.Outstanding(), capacity_bound);
    // I1 as users live it: sessions really running never exceed the limit.
    // A cookie is honoured until its slot, so that is when a session really ends.
    int64_t truly_active = 0;
    for (const SimUser& u : users) {
      truly_active += u.admitted && !u.gone && now < SlotCeilMs(u.expiry_ms) * 1000;
    }
    ASSERT_LE(truly_active, capacity_bound) << "step " << step;
    // I5: while seats and tokens are free, the oldest present waiting user gets in within a
    // tick, a fast poll and the time for its bucket's count to settle.
    const SimUser* oldest = nullptr;
    for (const SimUser& u : users) {
      if (u.admitted || u.gone || u.bucket == 0) continue;
      if (!oldest || u.bucket < oldest->bucket ||
          (u.bucket == oldest->bucket && u.frac < oldest->frac)) {
        oldest = &u;
      }
    }
    // A prequeue or queue_all admits nobody: seats are not free then.
    const bool free_now =
        now >= i5_from_ms && engine.Limits().admits &&
        engine.Limits().total_active_users - engine.Active() - engine.Outstanding() > 0 &&
        engine.Limits().new_users_per_minute - engine.GrantedInRateWindow() > 0;
    if (oldest == nullptr || !free_now || oldest != oldest_seen) {
      oldest_free_since_ms = -1;
    } else if (oldest_free_since_ms < 0) {
      oldest_free_since_ms = std::max(now, (oldest->bucket + 1) * 1000);
    } else {
      max_oldest_free_wait_ms = std::max(max_oldest_free_wait_ms, now - oldest_free_since_ms);
    }
    oldest_seen = oldest;

    // I2: admissions in the last 60 s.
    while (!admission_times.empty() && admission_times.front() <= now - 60'000) {
      admission_times.pop_front();
    }
    ASSERT_LE(static_cast<int64_t>(admission_times.size()),
              now < rate_bound_until_ms ? rate_bound : rate)
        << "step " << step;
  }
  EXPECT_EQ(admitted_while_queueing_all, 0);
  EXPECT_EQ(admitted_in_prequeue, 0);
  // I5: an eligible user got in within a tick, a fast poll and a lease of slack.
  // A waiting user learns it is eligible at its next page poll, asks its agent, whose next
  // Sync brings budget spent at the user's next fast poll: two polls and a tick, plus slack.
  if (p.method == v1::QUEUEING_METHOD_FIFO && p.death_rate == 0) {
    EXPECT_LE(max_oldest_free_wait_ms, 2 * refresh_ms + 2000);
  }
  RecordProperty("max_eligible_wait_ms", static_cast<int>(max_eligible_wait_ms));
  RecordProperty("max_oldest_free_wait_ms", static_cast<int>(max_oldest_free_wait_ms));
  int64_t admitted = 0;
  for (const SimUser& u : users) admitted += u.admitted;
  EXPECT_GT(admitted, p.capacity) << "the room must admit beyond its first fill";
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, RoomEngineInvariantTest,
    ::testing::Values(
        SimParams{.seed = 1}, SimParams{.seed = 2, .agents = 8},
        SimParams{.seed = 3, .capacity = 10, .rate = 30},
        SimParams{.seed = 4, .capacity = 200, .rate = 60, .arrivals_per_s = 10},
        SimParams{.seed = 5, .method = v1::QUEUEING_METHOD_RANDOM},
        SimParams{.seed = 6, .capacity = 5, .rate = 1000, .arrivals_per_s = 3},
        SimParams{.seed = 7, .death_rate = 0},
        SimParams{.seed = 8, .capacity = 10, .rate = 30, .agents = 6, .death_rate = 0},
        SimParams{.seed = 9, .capacity = 300, .rate = 100, .arrivals_per_s = 12, .death_rate = 0},
        SimParams{.seed = 10, .death_rate = 0, .by_bucket = true},
        SimParams{.seed = 11, .capacity = 20, .rate = 60, .by_bucket = true},
        SimParams{.seed = 12, .reconfigure = true},
        SimParams{.seed = 13, .capacity = 10, .rate = 30, .by_bucket = true, .reconfigure = true},
        SimParams{.seed = 14, .method = v1::QUEUEING_METHOD_RANDOM, .reconfigure = true},
        SimParams{.seed = 15,
                  .capacity = 200,
                  .rate = 60,
                  .arrivals_per_s = 10,
                  .death_rate = 0,
                  .reconfigure = true},
        SimParams{.seed = 16, .event = true},
        SimParams{.seed = 17, .capacity = 10, .rate = 60, .death_rate = 0, .event = true},
        SimParams{.seed = 18, .method = v1::QUEUEING_METHOD_RANDOM, .event = true},
        SimParams{.seed = 19, .by_bucket = true, .reconfigure = true, .event = true}),
    // Named by seed: printing the struct would put its padding bytes into the ctest name.
    [](const ::testing::TestParamInfo<SimParams>& info) {
      return "Seed" + std::to_string(info.param.seed);
    });

}  // namespace
}  // namespace anteroom::coordinator

namespace anteroom::coordinator {
namespace {

// A session admitted by `agent` at `now` (one newcomer, budget spent): returns its slot.
int64_t AdmitOne(RoomEngine& engine, const std::string& agent, int64_t now) {
  v1::RoomView view;
  v1::RoomReport want;
  want.set_room_id("room");
  want.set_direct_arrivals(1);
  engine.Apply(agent, want, false, now, &view);
  EXPECT_GE(view.budget(), 1);
  v1::RoomReport spent;
  spent.set_room_id("room");
  auto* a = spent.add_admissions();
  a->set_count(1);
  const int64_t slot = common::SlotCeilMs(now + 60'000);
  auto* d = spent.add_session_deltas();
  d->set_slot(slot);
  d->set_delta(1);
  spent.set_budget_unspent(view.budget() - 1);
  engine.Apply(agent, spent, false, now + 100, &view);
  return slot;
}

v1::RoomReport RevokeReport(const std::string& visitor, int64_t slot, int64_t known) {
  v1::RoomReport r;
  r.set_room_id("room");
  auto* v = r.add_revoked();
  v->set_visitor_id(visitor);
  v->set_slot(slot);
  r.set_revocations_known(known);
  return r;
}

TEST(RoomEngineRevocationTest, ARevokedSessionFreesItsSeatOnceAndEveryAgentHearsOfIt) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  const int64_t slot = AdmitOne(engine, "a1", kStartMs);
  engine.Maintain(kStartMs + 200);
  ASSERT_EQ(engine.Active(), 1);
  const std::string visitor(16, 'v');
  v1::RoomView view;
  engine.Apply("a1", RevokeReport(visitor, slot, 0), false, kStartMs + 300, &view);
  EXPECT_EQ(engine.Active(), 0);
  ASSERT_EQ(view.revoked_size(), 1);
  EXPECT_EQ(view.revoked(0).visitor_id(), visitor);
  EXPECT_EQ(view.revocation_seq(), 1);
  // Replayed to another agent's revoking URL before it heard: nothing more is freed.
  AdmitOne(engine, "a2", kStartMs + 400);
  engine.Maintain(kStartMs + 600);
  ASSERT_EQ(engine.Active(), 1);
  engine.Apply("a2", RevokeReport(visitor, slot, 0), false, kStartMs + 700, &view);
  EXPECT_EQ(engine.Active(), 1) << "a second revoke of one session frees nothing";
  EXPECT_EQ(view.revocation_seq(), 1);
  // An agent that knows revocation 1 gets nothing again; one that knows none gets it.
  v1::RoomReport plain;
  plain.set_room_id("room");
  plain.set_revocations_known(1);
  engine.Apply("a2", plain, false, kStartMs + 800, &view);
  EXPECT_EQ(view.revoked_size(), 0);
  plain.set_revocations_known(0);
  engine.Apply("a3", plain, false, kStartMs + 900, &view);
  EXPECT_EQ(view.revoked_size(), 1);
  // The revocation outlives every cookie it covers, then is forgotten.
  const int64_t until = view.revoked(0).until_ms();
  EXPECT_GE(until, (slot + 60) * 1000);
  engine.Maintain(until + 1000);
  EXPECT_TRUE(engine.state().revocations.empty());
  EXPECT_FALSE(engine.TakeChanges().revocations.empty());
}

TEST(RoomEngineRevocationTest, ASessionThatEndedAlreadyIsNotSubtractedAgain) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  v1::RoomView view;
  // A slot that holds no session (a cookie from an older store) frees nothing.
  engine.Apply("a1", RevokeReport(std::string(16, 'x'), common::SlotCeilMs(kStartMs + 30'000), 0),
               false, kStartMs, &view);
  EXPECT_EQ(engine.Active(), 0);
  EXPECT_EQ(engine.state().sessions.size(), 0u);
}

TEST(RoomEngineRevocationTest, AnAgentAheadOfANewStoreGetsEveryRevocation) {
  RoomEngine engine(MakeRoom(10, 1000), {}, Plain());
  v1::RoomView view;
  const int64_t slot = AdmitOne(engine, "a1", kStartMs);
  engine.Apply("a1", RevokeReport(std::string(16, 'v'), slot, 0), false, kStartMs + 300, &view);
  v1::RoomReport plain;
  plain.set_room_id("room");
  plain.set_revocations_known(57);  // From a store this one replaced.
  engine.Apply("a2", plain, false, kStartMs + 400, &view);
  EXPECT_EQ(view.revoked_size(), 1);
  EXPECT_EQ(view.revocation_seq(), 1);
}

TEST(RoomEngineTest, LeftUsersDoNotHoldNewcomersBackWhileSeatsAreFree) {
  // Users queued, then closed the tab: still counted as waiting for two refreshes. Once the
  // marker has let every one of them through and seats are left, the room opens to newcomers.
  RoomEngine engine(MakeRoom(100, 6000, 60, 20), {}, Plain());
  v1::RoomView view;
  v1::RoomReport report;
  report.set_room_id("room");
  const int64_t bucket = kStartMs / 1000;
  auto* a = report.add_arrivals();
  a->set_bucket(bucket);
  a->set_count(3);
  auto* p = report.add_presence();
  p->set_bucket(bucket);
  p->set_epoch(EpochOfMs(kStartMs, 20));
  p->set_count(3);
  engine.Apply("a1", report, false, kStartMs, &view);
  int64_t now = kStartMs;
  v1::RoomReport quiet;
  quiet.set_room_id("room");
  bool opened = false;
  for (int tick = 0; tick < 12 && !opened; ++tick) {
    now += 500;
    quiet.set_budget_unspent(view.budget());
    engine.Apply("a1", quiet, false, now, &view);
    opened = view.open_to_newcomers();
  }
  EXPECT_TRUE(opened) << "waiting " << view.waiting();
  EXPECT_GT(view.waiting(), 0) << "the users who left are still counted";
  EXPECT_LT(now - kStartMs, 5000) << "within a claim window of the marker passing them";
  // A newcomer held at an agent gets a seat at once, then and later on.
  for (int i = 0; i < 20; ++i) {
    now += 500;
    v1::RoomReport held;
    held.set_room_id("room");
    held.set_newcomers_wanting(1);
    held.set_budget_unspent(view.budget());
    engine.Apply("a1", held, false, now, &view);
    EXPECT_GE(view.budget(), 1) << "tick " << i;
    EXPECT_TRUE(view.open_to_newcomers()) << "tick " << i;
  }
}

}  // namespace
}  // namespace anteroom::coordinator

namespace anteroom::coordinator {
namespace {

// An agent the coordinator has no lease for (new, or forgotten after an hour of silence) whose
// first report frees a seat while users wait: the marker moves at once, and the agent's own
// lease, fresh as it is, must survive that recompute (it was used after being forgotten).
TEST(RoomEngineRevocationTest, AFirstReportThatFreesASeatKeepsItsOwnLease) {
  RoomEngine engine(MakeRoom(1, 1000), {}, Plain());
  const int64_t slot = AdmitOne(engine, "a1", kStartMs);
  v1::RoomView view;
  v1::RoomReport queued;
  queued.set_room_id("room");
  AddQueued(queued, kStartMs / 1000 - 3, 2, kStartMs + 200);
  engine.Apply("a1", queued, false, kStartMs + 200, &view);
  engine.Maintain(kStartMs + 1500);
  ASSERT_GT(engine.Waiting(), 0);
  v1::RoomReport first = RevokeReport(std::string(16, 'v'), slot, 0);
  first.set_budget_wanted(1);
  auto* w = first.add_wanted_buckets();
  w->set_bucket(kStartMs / 1000 - 3);
  w->set_count(1);
  engine.Apply("fresh", first, false, kStartMs + 1600, &view);
  EXPECT_EQ(engine.Active() + engine.Outstanding(), view.budget());
  EXPECT_EQ(view.budget(), 1) << "the freed seat goes to the user this agent asked for";
  EXPECT_TRUE(engine.state().leases.contains("fresh"));
}

}  // namespace
}  // namespace anteroom::coordinator
