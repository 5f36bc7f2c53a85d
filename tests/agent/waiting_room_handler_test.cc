// The decision for each room mode, without sockets: a hand-built snapshot, a manual clock.

#include "agent/waiting_room_handler.h"

#include <gtest/gtest.h>

#include "agent/token.h"
#include "common/time_slots.h"

namespace anteroom::agent {
namespace {

constexpr int64_t kNowMs = 1'800'000'000'000;
// A request held as often as the handler allows: the answer it then gets.
constexpr int kHolds = HandlerOptions{}.budget_holds;

v1::SigningKey TestKey() {
  v1::SigningKey k;
  k.set_id("k1");
  k.set_secret(std::string(32, 's'));
  return k;
}

class WaitingRoomHandlerTest : public ::testing::Test {
 protected:
  WaitingRoomHandlerTest() : clock_(kNowMs) { room_.set_id("shop"); }

  void SetUp() override {
    room_.add_routes()->set_path_prefix("/");
    room_.set_total_active_users(10);
    room_.set_new_users_per_minute(100);
    room_.set_refresh_interval_seconds(20);
    view_.set_room_id("shop");
    view_.set_phase(v1::ROOM_PHASE_OPEN);
    view_.set_session_duration_seconds(300);
    Publish();
  }

  // Rebuilds the snapshot from room_ and view_ (counters survive).
  void Publish(bool reachable = true) {
    auto rt = std::make_shared<RoomRuntime>();
    rt->config = room_;
    rt->cookie_name = CookieName(room_);
    rt->bypass = *BypassRules::Compile(room_);
    rt->pages = *WaitingPages::ForRoom(room_);
    rt->random = room_.queueing_method() == v1::QUEUEING_METHOD_RANDOM;
    rt->counters = counters_;
    auto snap = std::make_shared<AgentSnapshot>();
    snap->rooms.push_back(rt);
    snap->views.push_back(std::make_shared<const v1::RoomView>(view_));
    snap->routes = std::make_shared<const RouteTable>(std::vector<v1::Room>{room_});
    snap->keyring = std::make_shared<const Keyring>(*Keyring::Make({TestKey()}));
    snap->shard_reachable = {reachable};
    snap->default_upstream = {"127.0.0.1", 9000};
    state_.Store(snap);
  }

  Decision Request(const std::string& path, const std::string& cookie = "",
                   const std::string& accept = "", int budget_holds = 0) {
    // The view points into these, as into a parser's buffers.
    target_ = path;
    path_ = path.substr(0, path.find('?'));
    cookie_ = cookie;
    accept_ = accept;
    RequestView r;
    r.method = "GET";
    r.target = target_;
    r.path = path_;
    r.host = "shop.example.com";
    r.cookie = cookie_;
    r.accept = accept_;
    r.accept_language = "en";
    r.client_ip = "203.0.113.7";
    r.header = [](std::string_view) -> std::optional<std::string_view> { return std::nullopt; };
    r.budget_holds = budget_holds;
    return handler_.Handle(r);
  }

  static std::string CookieOf(const Decision& d) {
    for (const auto& [name, value] : d.headers) {
      if (name == "Set-Cookie") return value.substr(0, value.find(';'));
    }
    return "";
  }
  static std::string Header(const Decision& d, const std::string& name) {
    for (const auto& [n, v] : d.headers) {
      if (n == name) return v;
    }
    return "";
  }
  Token Decode(const std::string& cookie) {
    auto t = DecodeToken(cookie.substr(cookie.find('=') + 1), "shop", *Keyring::Make({TestKey()}),
                         kNowMs / 1000);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : Token{};
  }
  void GiveBudget(int64_t n) { counters_->Grant(n, kNowMs + 1000); }
  v1::RoomReport Drain() {
    v1::RoomReport r;
    counters_->Drain(&r, clock_.NowMs());
    return r;
  }

  std::string target_, path_, cookie_, accept_;
  common::ManualClock clock_;
  common::MetricsRegistry metrics_;
  AgentState state_;
  std::shared_ptr<RoomCounters> counters_ = std::make_shared<RoomCounters>();
  v1::Room room_;
  v1::RoomView view_;
  WaitingRoomHandler handler_{state_, clock_, {}, metrics_};
};

TEST_F(WaitingRoomHandlerTest, NewcomerEntersAtOnceWhileNobodyWaitsAndBudgetIsLeft) {
  GiveBudget(1);
  Decision d = Request("/");
  EXPECT_EQ(d.kind, Decision::Kind::kProxy);
  EXPECT_EQ(d.upstream.port, 9000);
  Token t = Decode(CookieOf(d));
  EXPECT_EQ(t.state, TokenState::kActive);
  EXPECT_EQ(t.expiry_slot, common::SlotCeilMs(kNowMs + 300'000));
  v1::RoomReport r = Drain();
  ASSERT_EQ(r.admissions_size(), 1);
  EXPECT_EQ(r.admissions(0).bucket(), 0);
  ASSERT_EQ(r.session_deltas_size(), 1);
  EXPECT_EQ(r.session_deltas(0).delta(), 1);
  EXPECT_EQ(r.direct_arrivals(), 1);
}

TEST_F(WaitingRoomHandlerTest, ANewcomerWithoutBudgetIsHeldForItWhileNobodyWaits) {
  // Seats are free but this agent spent its budget: hold the newcomer for the early Sync.
  Decision held = Request("/");
  EXPECT_GT(held.hold_ms, 0);
  EXPECT_TRUE(counters_->Starved()) << "an early Sync is due";
  Decision again = Request("/", "", "", 1);
  EXPECT_GT(again.hold_ms, 0);
  v1::RoomReport asked = Drain();
  EXPECT_EQ(asked.newcomers_wanting(), 1) << "each held newcomer is counted once";
  EXPECT_EQ(asked.arrivals_size(), 0);
  GiveBudget(1);
  Decision in = Request("/", "", "", 2);
  EXPECT_EQ(in.kind, Decision::Kind::kProxy);
  EXPECT_EQ(Decode(CookieOf(in)).state, TokenState::kActive);
}

TEST_F(WaitingRoomHandlerTest, NewcomersAreNotHeldWhileOthersWaitForTheirTurn) {
  view_.set_waiting(5);
  view_.set_open_to_newcomers(false);
  Publish();
  Decision d = Request("/");
  EXPECT_EQ(d.hold_ms, 0);
  EXPECT_EQ(Header(d, "X-Anteroom-Status"), "queued");
  // Once everyone counted as waiting is let through and seats are left (those users left),
  // newcomers enter again.
  view_.set_open_to_newcomers(true);
  Publish();
  GiveBudget(1);
  EXPECT_EQ(Request("/").kind, Decision::Kind::kProxy);
}

TEST_F(WaitingRoomHandlerTest, NewcomerQueuesWithoutBudget) {
  Decision d = Request("/", "", "", kHolds);
  EXPECT_EQ(d.kind, Decision::Kind::kRespond);
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(Header(d, "X-Anteroom-Status"), "queued");
  EXPECT_NE(d.body.find("<html"), std::string::npos);
  Token t = Decode(CookieOf(d));
  EXPECT_EQ(t.state, TokenState::kQueued);
  EXPECT_EQ(t.bucket, kNowMs / 1000);
  v1::RoomReport r = Drain();
  ASSERT_EQ(r.arrivals_size(), 1);
  ASSERT_EQ(r.presence_size(), 1);
  EXPECT_EQ(r.presence(0).epoch(), common::EpochOfMs(kNowMs, 20));
}

TEST_F(WaitingRoomHandlerTest, JsonWhenTheRoomEnablesItAndTheClientAsks) {
  room_.set_json_response(true);
  room_.set_queueing_status_code(429);
  Publish();
  Decision d = Request("/", "", "application/json", kHolds);
  EXPECT_EQ(d.status, 429);
  EXPECT_EQ(d.content_type, "application/json");
  EXPECT_NE(d.body.find("\"status\":\"queued\""), std::string::npos) << d.body;
  // The status endpoint answers JSON whatever the Accept header, with 200.
  Decision s = Request("/__anteroom/status?room=shop", CookieOf(d));
  EXPECT_EQ(s.status, 200);
  EXPECT_NE(s.body.find("\"room\":\"shop\""), std::string::npos) << s.body;
}

TEST_F(WaitingRoomHandlerTest, QueuedUserEntersWhenEligibleAndBudgetIsLeft) {
  const std::string cookie = CookieOf(Request("/", "", "", kHolds));
  Drain();
  // Not eligible yet: the page again, with a position.
  view_.set_waiting(3);
  auto* e = view_.add_eta();
  e->set_first_bucket(kNowMs / 1000);
  e->set_users_ahead(2);
  e->set_waiting(1);
  e->set_eta_seconds(40);
  Publish();
  Decision wait = Request("/__anteroom/status?room=shop", cookie);
  EXPECT_NE(wait.body.find("\"position\":3"), std::string::npos) << wait.body;
  // The marker passes the user's bucket and budget arrives: the next request goes through.
  view_.mutable_marker()->set_admit_through_bucket(kNowMs / 1000 + 1);
  Publish();
  // No budget here yet: the request is held for the early Sync it asks for.
  Decision held = Request("/", cookie);
  EXPECT_GT(held.hold_ms, 0);
  EXPECT_TRUE(counters_->Starved()) << "an early Sync is due";
  // Held as often as the handler allows; then the page, polling fast.
  Decision no_budget = Request("/", cookie, "", HandlerOptions{}.budget_holds);
  EXPECT_EQ(no_budget.kind, Decision::Kind::kRespond);
  EXPECT_EQ(no_budget.hold_ms, 0);
  EXPECT_EQ(Header(no_budget, "Retry-After"), "1") << "eligible users poll fast";
  EXPECT_EQ(Drain().budget_wanted(), 1);
  GiveBudget(1);
  Decision in = Request("/", cookie);
  EXPECT_EQ(in.kind, Decision::Kind::kProxy);
  EXPECT_EQ(Decode(CookieOf(in)).state, TokenState::kActive);
  v1::RoomReport r = Drain();
  ASSERT_EQ(r.admissions_size(), 1);
  EXPECT_EQ(r.admissions(0).bucket(), kNowMs / 1000);
}

TEST_F(WaitingRoomHandlerTest, AHeldEligibleUserEntersWhenTheBudgetArrives) {
  const std::string cookie = CookieOf(Request("/", "", "", kHolds));
  Drain();
  view_.set_waiting(1);
  view_.mutable_marker()->set_admit_through_bucket(kNowMs / 1000 + 1);
  Publish();
  Decision held = Request("/", cookie);
  ASSERT_GT(held.hold_ms, 0);
  // The early Sync brings budget; the HTTP layer asks again with the hold counted.
  GiveBudget(1);
  Decision in = Request("/", cookie, "", 1);
  EXPECT_EQ(in.kind, Decision::Kind::kProxy);
  EXPECT_EQ(in.hold_ms, 0);
  EXPECT_EQ(Decode(CookieOf(in)).state, TokenState::kActive);
  v1::RoomReport r = Drain();
  ASSERT_EQ(r.admissions_size(), 1);
  EXPECT_EQ(r.presence_size(), 0) << "a held request counts nothing twice";
}

TEST_F(WaitingRoomHandlerTest, AdmittedUserRenewsOncePerSlotAndCanBeRevoked) {
  GiveBudget(1);
  const std::string cookie = CookieOf(Request("/"));
  Drain();
  Decision same = Request("/", cookie);
  EXPECT_EQ(same.kind, Decision::Kind::kProxy);
  EXPECT_EQ(CookieOf(same), "") << "same slot: no new cookie";
  clock_.AdvanceMs(15'000);
  Decision moved = Request("/", cookie);
  EXPECT_NE(CookieOf(moved), "");
  // The old cookie replayed (a bot, or a lost response): the same renewal, not another move.
  Decision replay = Request("/", cookie);
  EXPECT_EQ(CookieOf(replay), CookieOf(moved));
  v1::RoomReport r = Drain();
  ASSERT_EQ(r.session_deltas_size(), 2);  // -1 old slot, +1 new slot, once.
  EXPECT_EQ(r.session_deltas(0).delta() + r.session_deltas(1).delta(), 0);
  // The origin says revoke on the very request that renewed the session: the renewed cookie
  // is dropped and only the clearing one goes out, and the session is reported revoked at
  // its new slot (the coordinator frees the seat).
  auto extra = handler_.OnUpstreamResponse(moved, 200, "revoke", 1000);
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_NE(extra[0].second.find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(CookieOf(moved), "") << "no renewed cookie beside the clearing one";
  r = Drain();
  EXPECT_EQ(r.session_deltas_size(), 0);
  ASSERT_EQ(r.revoked_size(), 1);
  EXPECT_EQ(r.revoked(0).slot(), common::SlotCeilMs(kNowMs + 15'000 + 300'000));
  const Token t = Decode(CookieOf(replay));
  EXPECT_EQ(r.revoked(0).visitor_id(),
            std::string(reinterpret_cast<const char*>(t.visitor_id.data()), 16));
  // Replayed afterwards, the revoked cookie is a stranger's: no session, nothing to revoke.
  GiveBudget(0);
  Decision again = Request("/", cookie, "", kHolds);
  EXPECT_EQ(Header(again, "X-Anteroom-Status"), "queued");
  EXPECT_EQ(Drain().invalid_tokens(), 1);
  Decision replayed_renewal = Request("/", CookieOf(replay), "", kHolds);
  EXPECT_EQ(replayed_renewal.ticket.slot, 0);
  EXPECT_TRUE(handler_.OnUpstreamResponse(replayed_renewal, 200, "revoke", 1000).empty());
  EXPECT_EQ(Drain().revoked_size(), 0) << "a second revoke frees nothing";
}

TEST_F(WaitingRoomHandlerTest, RevocationsFromOtherAgentsAreRefusedToo) {
  GiveBudget(1);
  const std::string cookie = CookieOf(Request("/"));
  const Token t = Decode(cookie);
  // Another agent revoked it; this one hears of it in a Sync reply.
  v1::RoomView view = view_;
  v1::RevokedSession* r = view.add_revoked();
  r->set_visitor_id(std::string(reinterpret_cast<const char*>(t.visitor_id.data()), 16));
  r->set_slot(t.expiry_slot);
  r->set_until_ms(kNowMs + 600'000);
  r->set_seq(4);
  view.set_revocation_seq(4);
  counters_->MergeRevocations(view, kNowMs);
  EXPECT_EQ(Drain().revocations_known(), 4);
  Decision d = Request("/", cookie, "", kHolds);
  EXPECT_EQ(Header(d, "X-Anteroom-Status"), "queued");
  // Once the revocation has run out (no copy of the cookie can be valid by then) it is
  // forgotten.
  counters_->MergeRevocations(view_, kNowMs + 600'001);
  EXPECT_EQ(counters_->revoked().size(), 0u);
}

TEST_F(WaitingRoomHandlerTest, TheQueuedCookieOfARevokedVisitorIsAStrangersToo) {
  const std::string queued = CookieOf(Request("/", "", "", kHolds));
  view_.set_waiting(1);
  view_.mutable_marker()->set_admit_through_bucket(kNowMs / 1000 + 1);
  Publish();
  GiveBudget(1);
  Decision in = Request("/", queued);
  ASSERT_EQ(in.kind, Decision::Kind::kProxy);
  ASSERT_FALSE(handler_.OnUpstreamResponse(in, 200, "revoke", 1000).empty());
  Drain();
  // The queued cookie kept from before: not a place to be admitted from again.
  GiveBudget(1);
  Decision again = Request("/", queued, "", kHolds);
  EXPECT_EQ(Drain().invalid_tokens(), 1);
  if (again.kind == Decision::Kind::kProxy) {
    EXPECT_NE(Decode(CookieOf(again)).visitor_id, Decode(queued).visitor_id)
        << "let in only as a stranger, never under the revoked visitor";
  }
}

TEST_F(WaitingRoomHandlerTest, AHardCapEndsTheSessionHoweverOftenItRenews) {
  room_.set_session_duration_seconds(60);
  room_.set_max_session_duration_seconds(120);
  view_.set_session_duration_seconds(60);
  Publish();
  GiveBudget(1);
  std::string cookie = CookieOf(Request("/"));
  const int64_t cap_slot = (kNowMs / 1000 + 120) / 10 * 10;
  for (int i = 0; i < 30; ++i) {
    clock_.AdvanceMs(5'000);
    Decision d = Request("/", cookie, "", kHolds);
    if (d.kind != Decision::Kind::kProxy) break;
    if (!CookieOf(d).empty()) cookie = CookieOf(d);
    const Token t = DecodeToken(cookie.substr(cookie.find('=') + 1), "shop",
                                *Keyring::Make({TestKey()}), clock_.NowMs() / 1000)
                        .value();
    EXPECT_LE(t.expiry_slot, cap_slot);
  }
  EXPECT_GE(clock_.NowMs(), kNowMs + 120'000 - 10'000);
  EXPECT_LE(clock_.NowMs(), kNowMs + 125'000) << "the session ended at the cap";
}

TEST_F(WaitingRoomHandlerTest, AQueuedPlaceUnseenPastTheGraceIsLost) {
  room_.set_abandon_grace_seconds(60);
  Publish();
  const std::string cookie = CookieOf(Request("/", "", "", kHolds));
  EXPECT_NE(Header(Request("/", "", "", kHolds), "Set-Cookie").find("Max-Age=80"),
            std::string::npos)
      << "the queued cookie outlives the grace by one refresh";
  clock_.AdvanceMs(30'000);
  Decision back = Request("/__anteroom/status?room=shop", cookie);
  EXPECT_EQ(Decode(CookieOf(back)).bucket, kNowMs / 1000) << "within the grace: same place";
  clock_.AdvanceMs(120'000);
  Decision late = Request("/", CookieOf(back), "", kHolds);
  EXPECT_EQ(Decode(CookieOf(late)).bucket, clock_.NowMs() / 1000) << "a newcomer again";
}

TEST_F(WaitingRoomHandlerTest, ModesDecideAsTheirNamesSay) {
  // Suspended: through, uncounted.
  view_.set_phase(v1::ROOM_PHASE_SUSPENDED);
  Publish();
  EXPECT_EQ(Request("/").kind, Decision::Kind::kProxy);
  EXPECT_EQ(Drain().direct_arrivals(), 0);
  // Closed (REJECT): the closed page, 503.
  view_.set_phase(v1::ROOM_PHASE_CLOSED);
  Publish();
  Decision closed = Request("/");
  EXPECT_EQ(closed.status, 503);
  EXPECT_EQ(Header(closed, "X-Anteroom-Status"), "closed");
  // Passthrough: everyone in, counted.
  view_.set_phase(v1::ROOM_PHASE_PASSTHROUGH);
  Publish();
  Decision pass = Request("/");
  EXPECT_EQ(pass.kind, Decision::Kind::kProxy);
  EXPECT_EQ(Decode(CookieOf(pass)).state, TokenState::kActive);
  EXPECT_EQ(Drain().admissions_size(), 1);
  // Queue-all: everyone waits, even with budget.
  view_.set_phase(v1::ROOM_PHASE_QUEUE_ALL);
  Publish();
  GiveBudget(5);
  EXPECT_EQ(Request("/").kind, Decision::Kind::kRespond);
}

TEST_F(WaitingRoomHandlerTest, ShuffledPrequeueDrawsABucketInsideTheWindow) {
  view_.set_phase(v1::ROOM_PHASE_PREQUEUE);
  view_.set_shuffle_base_bucket(kNowMs / 1000 - 600);
  view_.set_shuffle_span(3600);
  Publish();
  for (int i = 0; i < 20; ++i) {
    Token t = Decode(CookieOf(Request("/")));
    EXPECT_GE(t.bucket, kNowMs / 1000 - 600);
    EXPECT_LT(t.bucket, kNowMs / 1000 - 600 + 3600);
  }
}

TEST_F(WaitingRoomHandlerTest, BypassRulesSkipTheQueue) {
  room_.add_bypass()->set_path_prefix("/static/");
  Publish();
  EXPECT_EQ(Request("/static/app.css").kind, Decision::Kind::kProxy);
  EXPECT_EQ(Drain().direct_arrivals(), 0);
}

TEST_F(WaitingRoomHandlerTest, InvalidCookiesCountAsNoCookie) {
  Decision d = Request("/", "anteroom_shop=AAAAforged", "", kHolds);
  EXPECT_EQ(Header(d, "X-Anteroom-Status"), "queued");
  EXPECT_EQ(Drain().invalid_tokens(), 1);
}

TEST_F(WaitingRoomHandlerTest, FailOpenLetsNewcomersInWhileTheCoordinatorIsAway) {
  room_.set_fail_mode(v1::FAIL_MODE_OPEN);
  Publish(/*reachable=*/false);
  EXPECT_EQ(Request("/").kind, Decision::Kind::kProxy);
  // Fail-closed rooms queue them.
  room_.set_fail_mode(v1::FAIL_MODE_CLOSED);
  Publish(false);
  clock_.AdvanceMs(120'000);
  EXPECT_EQ(Request("/").kind, Decision::Kind::kRespond);
}

TEST_F(WaitingRoomHandlerTest, UnmatchedRequestsGoToTheDefaultUpstream) {
  room_.mutable_routes(0)->set_path_prefix("/tickets");
  Publish();
  Decision d = Request("/about");
  EXPECT_EQ(d.kind, Decision::Kind::kProxy);
  EXPECT_TRUE(d.headers.empty());
}

TEST(ForwardAuthTest, CheckAnswersYesOrTheWaitingPage) {
  common::ManualClock clock(kNowMs);
  common::MetricsRegistry metrics;
  AgentState state;
  v1::Room room;
  room.set_id("shop");
  room.add_routes()->set_host("shop.example.com");
  room.set_total_active_users(1);
  room.set_new_users_per_minute(10);
  auto counters = std::make_shared<RoomCounters>();
  auto rt = std::make_shared<RoomRuntime>();
  rt->config = room;
  rt->cookie_name = CookieName(room);
  rt->pages = *WaitingPages::ForRoom(room);
  rt->counters = counters;
  auto snap = std::make_shared<AgentSnapshot>();
  snap->rooms.push_back(rt);
  v1::RoomView view;
  view.set_phase(v1::ROOM_PHASE_OPEN);
  snap->views.push_back(std::make_shared<const v1::RoomView>(view));
  snap->routes = std::make_shared<const RouteTable>(std::vector<v1::Room>{room});
  snap->keyring = std::make_shared<const Keyring>(*Keyring::Make({TestKey()}));
  snap->shard_reachable = {true};
  state.Store(snap);
  WaitingRoomHandler handler(state, clock, {.forward_auth = true}, metrics);

  RequestView r;
  r.method = "GET";
  r.target = r.path = "/check";
  r.host = "agent.internal";
  r.header = [](std::string_view name) -> std::optional<std::string_view> {
    if (name == "X-Forwarded-Host") return std::string_view("shop.example.com");
    if (name == "X-Forwarded-Uri") return std::string_view("/cart?x=1");
    return std::nullopt;
  };
  counters->Grant(1, kNowMs + 1000);
  Decision yes = handler.Handle(r);
  EXPECT_EQ(yes.kind, Decision::Kind::kRespond);
  EXPECT_EQ(yes.status, 200);
  Decision held = handler.Handle(r);
  EXPECT_GT(held.hold_ms, 0) << "a newcomer is held for budget first";
  r.budget_holds = HandlerOptions{}.budget_holds;
  Decision no = handler.Handle(r);
  EXPECT_EQ(no.status, 429) << "a queued user must not get a 2xx";
  r.target = r.path = "/other";
  EXPECT_EQ(handler.Handle(r).status, 404);
}

}  // namespace
}  // namespace anteroom::agent

namespace anteroom::agent {
namespace {

TEST_F(WaitingRoomHandlerTest, PassiveChecksMoveTrafficButNeverTakeDownTheLastOrigin) {
  v1::Pool pool;
  pool.set_id("app");
  for (const char* address : {"10.0.0.1", "10.0.0.2"}) {
    v1::Origin* o = pool.add_origins();
    o->set_address(address);
    o->set_port(80);
  }
  auto table = FailoverTable::Build({pool}, nullptr);
  auto snap = std::make_shared<AgentSnapshot>(*state_.Load());
  snap->failover = table;
  snap->room_pools = {table->Order({"app"}, "")};
  state_.Store(snap);
  OriginState& a = *table->Find("app")->origins[0];
  OriginState& b = *table->Find("app")->origins[1];

  GiveBudget(10);
  Decision d = Request("/");
  ASSERT_EQ(d.kind, Decision::Kind::kProxy);
  EXPECT_EQ(d.upstream.host, "10.0.0.1");
  EXPECT_EQ(a.outstanding, 1);
  // Three 5xx in a row (the default threshold) move traffic to b.
  for (int i = 0; i < 3; ++i) handler_.OnUpstreamResponse(d, 502, "", 1000);
  EXPECT_FALSE(a.up);
  EXPECT_TRUE(a.passive_down);
  EXPECT_EQ(a.passive_failures, 0) << "after it comes back, it needs three failures again";

  Decision second = Request("/", CookieOf(d));
  ASSERT_EQ(second.kind, Decision::Kind::kProxy);
  EXPECT_EQ(second.upstream.host, "10.0.0.2");
  // b is the last origin up: an application failing everywhere does not empty the pool.
  for (int i = 0; i < 10; ++i) handler_.OnUpstreamResponse(second, 500, "", 1000);
  EXPECT_TRUE(b.up);
  // A connection failure on b has nowhere else to go.
  EXPECT_FALSE(handler_.Reroute(second, RequestHandler::UpstreamFailureKind::kConnect, true));
}

TEST_F(WaitingRoomHandlerTest, NoOriginUpGivesA503ThatKeepsTheNewCookie) {
  v1::Pool pool;
  pool.set_id("app");
  v1::Origin* o = pool.add_origins();
  o->set_address("10.0.0.1");
  o->set_port(80);
  auto table = FailoverTable::Build({pool}, nullptr);
  table->Find("app")->origins[0]->up = false;
  auto snap = std::make_shared<AgentSnapshot>(*state_.Load());
  snap->failover = table;
  snap->room_pools = {table->Order({"app"}, "")};
  state_.Store(snap);
  GiveBudget(10);
  Decision d = Request("/");
  ASSERT_EQ(d.kind, Decision::Kind::kRespond);
  EXPECT_EQ(d.status, 503);
  EXPECT_NE(d.body.find("Temporarily unavailable"), std::string::npos);
  EXPECT_FALSE(CookieOf(d).empty()) << "the user admitted by this request keeps the place";
  EXPECT_EQ(Header(d, "Retry-After"), "10");
}

}  // namespace
}  // namespace anteroom::agent
