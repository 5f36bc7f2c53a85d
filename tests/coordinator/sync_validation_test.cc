#include "coordinator/sync_validation.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace anteroom::coordinator {
namespace {

constexpr int64_t kNowMs = 1'700'000'000'000;  // A fixed clock: messages quote exact bounds.
constexpr int64_t kNowS = kNowMs / 1000;

v1::SyncRequest ValidRequest() {
  v1::SyncRequest r;
  r.set_agent_id("agent-1");
  r.set_seq(7);
  v1::RoomReport* room = r.add_rooms();
  room->set_room_id("shop");
  v1::BucketCount* a = room->add_arrivals();
  a->set_bucket(kNowS);
  a->set_count(3);
  v1::PresenceCount* p = room->add_presence();
  p->set_bucket(kNowS - 60);
  p->set_epoch(kNowS - 120);
  p->set_count(2);
  v1::AdmissionCount* adm = room->add_admissions();
  adm->set_bucket(kNowS - 30);
  adm->set_epoch(kNowS - 120);
  adm->set_count(1);
  v1::SlotDelta* d = room->add_session_deltas();
  d->set_slot(kNowS / 10 * 10 + 300);
  d->set_delta(-1);
  room->set_budget_wanted(3);
  for (int64_t b : {kNowS - 9, kNowS - 5}) {
    v1::BucketCount* w = room->add_wanted_buckets();
    w->set_bucket(b);
    w->set_count(b == kNowS - 9 ? 1 : 2);
  }
  room->set_budget_unspent(4);
  v1::RevokedSession* v = room->add_revoked();
  v->set_visitor_id(std::string(16, 'v'));
  v->set_slot(kNowS / 10 * 10 + 300);
  room->set_revocations_known(12);
  room->set_newcomers_wanting(2);
  r.add_rooms()->set_room_id("hall");
  v1::OriginObservation* o = r.add_health();
  o->set_pool_id("web");
  o->set_origin("10.0.0.1:80");
  o->set_latency_us(800);
  return r;
}

TEST(SyncValidationTest, AcceptsAFullRequest) {
  EXPECT_TRUE(ValidateSyncRequest(ValidRequest(), kNowMs).ok());
}

TEST(SyncValidationTest, EachBadFieldIsNamedWithItsPathAndBounds) {
  struct Case {
    std::function<void(v1::SyncRequest&)> mutate;
    std::string message;
  };
  const std::string oldest = std::to_string(kNowS - 30 * 86'400);
  const std::string newest = std::to_string(kNowS + 3600);
  const std::vector<Case> cases = {
      {[](v1::SyncRequest& r) { r.set_agent_id(""); }, "agent_id: is required"},
      {[](v1::SyncRequest& r) { r.set_agent_id("a b"); },
       "agent_id: must be printable ASCII without spaces"},
      {[](v1::SyncRequest& r) { r.set_agent_id(std::string(129, 'a')); },
       "agent_id: longer than 128 characters"},
      {[](v1::SyncRequest& r) { r.set_seq(0); }, "seq: must start at 1"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_revoked(0)->set_visitor_id("short"); },
       "rooms[0].revoked[0].visitor_id: must be 16 bytes (got 5)"},
      {[](v1::SyncRequest& r) {
         r.mutable_rooms(0)->mutable_revoked(0)->set_slot(kNowS / 10 * 10 + 301);
       },
       "rooms[0].revoked[0].slot: must be a multiple of 10"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_revoked(0)->set_slot(1); },
       "rooms[0].revoked[0].slot: must be between " + std::to_string(kNowS - 86'400) + " and " +
           std::to_string(kNowS + 32 * 86'400) + " (got 1)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->set_revocations_known(-1); },
       "rooms[0].revocations_known: must not be negative"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->set_newcomers_wanting(-3); },
       "rooms[0].newcomers_wanting: must be between 0 and 1000000000 (got -3)"},
      {[](v1::SyncRequest& r) { r.set_config_generation(-1); },
       "config_generation: must not be negative"},
      {[](v1::SyncRequest& r) { r.set_keys_generation(-1); },
       "keys_generation: must not be negative"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(1)->set_room_id("Hall"); },
       "rooms[1].room_id: may contain only a-z, 0-9, '-' and '_'"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(1)->set_room_id(""); },
       "rooms[1].room_id: is required"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(1)->set_room_id("shop"); },
       "rooms[1].room_id: room 'shop' reported twice"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_arrivals(0)->set_bucket(1); },
       "rooms[0].arrivals[0].bucket: must be between " + oldest + " and " + newest + " (got 1)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_arrivals(0)->set_count(-1); },
       "rooms[0].arrivals[0].count: must be between 0 and 1000000 (got -1)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_presence(0)->set_bucket(-5); },
       "rooms[0].presence[0].bucket: must be between " + oldest + " and " + newest + " (got -5)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_presence(0)->set_epoch(-1); },
       "rooms[0].presence[0].epoch: must be between 0 and " + newest + " (got -1)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_presence(0)->set_count(2'000'000); },
       "rooms[0].presence[0].count: must be between 0 and 1000000 (got 2000000)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_admissions(0)->set_bucket(3); },
       "rooms[0].admissions[0].bucket: must be between " + oldest + " and " + newest + " (got 3)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_admissions(0)->set_epoch(-2); },
       "rooms[0].admissions[0].epoch: must be between 0 and " + newest + " (got -2)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_admissions(0)->set_count(-3); },
       "rooms[0].admissions[0].count: must be between 0 and 1000000 (got -3)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_session_deltas(0)->set_slot(10); },
       "rooms[0].session_deltas[0].slot: must be between " + std::to_string(kNowS - 86'400) +
           " and " + std::to_string(kNowS + 32 * 86'400) + " (got 10)"},
      {[](v1::SyncRequest& r) {
         r.mutable_rooms(0)->mutable_session_deltas(0)->set_slot(kNowS / 10 * 10 + 3);
       },
       "rooms[0].session_deltas[0].slot: must be a multiple of 10"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_session_deltas(0)->set_delta(-2e6); },
       "rooms[0].session_deltas[0].delta: must be between -1000000 and 1000000 (got -2000000)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->set_budget_wanted(-1); },
       "rooms[0].budget_wanted: must be between 0 and 1000000000 (got -1)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_wanted_buckets(1)->set_bucket(0); },
       "rooms[0].wanted_buckets[1].bucket: must be between " + oldest + " and " + newest +
           " (got 0)"},
      {[](v1::SyncRequest& r) {
         r.mutable_rooms(0)->mutable_wanted_buckets(1)->set_bucket(kNowS - 9);
       },
       "rooms[0].wanted_buckets[1].bucket: buckets must be strictly increasing"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->mutable_wanted_buckets(0)->set_count(0); },
       "rooms[0].wanted_buckets[0].count: must be between 1 and 1000000 (got 0)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->set_budget_wanted(5); },
       "rooms[0].wanted_buckets: counts sum to 3, not budget_wanted 5"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(0)->set_budget_unspent(-4); },
       "rooms[0].budget_unspent: must be between 0 and 1000000000 (got -4)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(1)->set_direct_arrivals(-1); },
       "rooms[1].direct_arrivals: must be between 0 and 1000000 (got -1)"},
      {[](v1::SyncRequest& r) { r.mutable_rooms(1)->set_invalid_tokens(-1); },
       "rooms[1].invalid_tokens: must be between 0 and 1000000 (got -1)"},
      {[](v1::SyncRequest& r) { r.mutable_health(0)->set_pool_id("Web"); },
       "health[0].pool_id: may contain only a-z, 0-9, '-' and '_'"},
      {[](v1::SyncRequest& r) { r.mutable_health(0)->set_origin(""); },
       "health[0].origin: 1-300 characters"},
      {[](v1::SyncRequest& r) { r.mutable_health(0)->set_reason(std::string(301, 'x')); },
       "health[0].reason: longer than 300 characters"},
      {[](v1::SyncRequest& r) { r.mutable_health(0)->set_latency_us(-1); },
       "health[0].latency_us: must not be negative"},
  };
  for (const Case& c : cases) {
    v1::SyncRequest r = ValidRequest();
    c.mutate(r);
    absl::Status s = ValidateSyncRequest(r, kNowMs);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(SyncValidationTest, OversizedListsAreRefusedBeforeTheirEntriesAreRead) {
  v1::SyncRequest r = ValidRequest();
  v1::RoomReport* room = r.mutable_rooms(1);
  for (int i = 0; i <= 100'000; ++i) room->add_arrivals();  // Each one invalid, too.
  EXPECT_EQ(ValidateSyncRequest(r, kNowMs).message(),
            "rooms[1].arrivals: more than 100000 entries");
}

}  // namespace
}  // namespace anteroom::coordinator
