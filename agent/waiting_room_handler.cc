#include "agent/waiting_room_handler.h"

#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/strings/match.h"
#include "agent/failover/origin_picker.h"
#include "agent/queue_position.h"
#include "agent/status_json.h"
#include "agent/token.h"
#include "common/rendezvous_hash.h"
#include "common/room_settings.h"
#include "common/time_slots.h"
#include "spdlog/spdlog.h"

namespace anteroom::agent {
namespace {

using common::FloorDiv;

// The ticket of a proxied admitted request: its session, and a hash of the room id so a
// revoke that races a configuration change cannot land on another room.
SessionTicket MakeTicket(std::string_view room_id, const Token& token) {
  return SessionTicket{.room_hash = common::StableHash64(room_id),
                       .slot = token.expiry_slot,
                       .visitor = token.visitor_id};
}

std::string_view VisitorView(const VisitorId& visitor) {
  return std::string_view(reinterpret_cast<const char*>(visitor.data()), visitor.size());
}

// The latest expiry slot a session admitted at `admitted_unix` may reach under the room's hard
// cap (a slot at or before the cap); 0 when the room has none.
int64_t CapSlot(const v1::Room& room, int64_t admitted_unix) {
  const int64_t cap = common::MaxSessionSeconds(room);
  if (cap <= 0) return 0;
  return FloorDiv(admitted_unix + cap, common::kSlotSeconds) * common::kSlotSeconds;
}

std::string_view QueryParam(std::string_view target, std::string_view name) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos) return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool WantsJson(std::string_view accept) {
  return accept.find("application/json") != std::string_view::npos;
}

}  // namespace

// Everything one decision needs, gathered once.
struct WaitingRoomHandler::Context {
  const AgentSnapshot& snap;
  const RoomRuntime& room;
  const v1::RoomView* view;  // Null before the coordinator sent one.
  const RequestView& request;
  int index;
  bool status_call;
  bool forward_auth;
  int64_t now_ms;
  int64_t now_s;
  int64_t session_seconds;
  int64_t refresh_seconds;
  Token token;
  std::string cookie_value;  // Set-Cookie value already encoded for `token`, if any.
  // A newcomer queued by this request: its place among this agent's arrivals of its second.
  int64_t arrival_rank = 0;
};

WaitingRoomHandler::WaitingRoomHandler(const AgentState& state, const common::Clock& clock,
                                       HandlerOptions options, common::MetricsRegistry& metrics)
    : state_(state), clock_(clock), options_(options) {
  auto outcome = [&](const char* name) {
    return metrics.RegisterCounter("anteroom_agent_decisions_total",
                                   "Requests by what the waiting room decided.",
                                   {{"outcome", name}});
  };
  outcomes_ = {
      .no_room = outcome("no_room"),
      .suspended = outcome("suspended"),
      .bypass = outcome("bypass"),
      .admitted = outcome("admitted"),
      .admitted_now = outcome("admitted_now"),
      .queued = outcome("queued"),
      .held = metrics.RegisterCounter(
          "anteroom_agent_budget_holds_total",
          "Requests of eligible users held for the budget an early Sync was fetching."),
      .closed = outcome("closed"),
      .fail_open = outcome("fail_open"),
      .revoked = outcome("revoked"),
      .revoked_replay = outcome("revoked_replay"),
      .abandoned = outcome("abandoned"),
      .invalid_token = metrics.RegisterCounter(
          "anteroom_agent_invalid_tokens_total",
          "Cookies that were forged, truncated, expired, of another room or of an unknown key."),
      .no_origin =
          metrics.RegisterCounter("anteroom_agent_no_origin_total",
                                  "Requests answered 503 because no origin of their pools was up."),
      .passive_down = metrics.RegisterCounter(
          "anteroom_agent_passive_down_total",
          "Origins marked down by failures of live traffic before their next probe."),
  };
}

Decision WaitingRoomHandler::Handle(const RequestView& request) {
  std::shared_ptr<const AgentSnapshot> snap = state_.Load();
  const int64_t now_ms = clock_.NowMs() + snap->clock_offset_ms;

  std::string_view host = request.host;
  std::string_view path = request.path;
  const bool status_call = request.path == kStatusPath;
  if (options_.forward_auth && !status_call) {
    if (request.path != kForwardAuthPath) {
      Decision d;
      d.kind = Decision::Kind::kRespond;
      d.status = 404;
      d.content_type = "text/plain; charset=utf-8";
      d.body = "forward-auth mode answers GET /check\n";
      return d;
    }
    // Traefik sends X-Forwarded-Host/-Uri; ingress-nginx sends X-Original-URL.
    if (auto h = request.header("X-Forwarded-Host")) host = *h;
    if (auto u = request.header("X-Forwarded-Uri")) {
      path = u->substr(0, u->find('?'));
    } else if (auto url = request.header("X-Original-URL")) {
      std::string_view rest = *url;
      if (size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
        rest.remove_prefix(scheme + 3);
        const size_t slash = rest.find('/');
        host = rest.substr(0, std::min(slash, rest.find(':')));
        rest = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
      }
      path = rest.substr(0, rest.find('?'));
    }
  }

  int index = -1;
  if (status_call) {
    const std::string_view id = QueryParam(request.target, "room");
    for (size_t i = 0; i < snap->rooms.size(); ++i) {
      if (snap->rooms[i]->config.id() == id) index = static_cast<int>(i);
    }
  } else if (snap->routes) {
    index = snap->routes->Match(host, path);
  }
  if (index < 0) {
    outcomes_.no_room->Increment();
    Decision d;
    if (status_call || options_.forward_auth) {
      d.kind = Decision::Kind::kRespond;
      d.status = status_call ? 404 : 200;
      d.content_type = "application/json";
      d.body = status_call ? "{\"error\":\"unknown room\"}\n" : "";
      return d;
    }
    RouteToOrigin(snap, -1, d);
    return d;
  }
  Decision d = Decide(*snap, index, request, host, path, status_call, now_ms);
  if (d.kind == Decision::Kind::kProxy) RouteToOrigin(snap, index, d);
  return d;
}

namespace {

// Per-thread scratch for steering among equal origins: no shared cache line is written.
uint64_t ThreadRandom() {
  thread_local uint64_t state =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<uintptr_t>(&state);
  state += 0x9e3779b97f4a7c15ULL;  // splitmix64
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr std::string_view kNoOriginPage =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<meta http-equiv=\"refresh\" content=\"10\"><title>Temporarily unavailable</title></head>"
    "<body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;"
    "padding:0 1rem\"><h1>Temporarily unavailable</h1><p>None of the servers behind this "
    "site is answering right now. This page tries again every 10 seconds.</p></body></html>\n";

}  // namespace

void WaitingRoomHandler::RouteToOrigin(const std::shared_ptr<const AgentSnapshot>& snap,
                                       int room_index, Decision& d) const {
  const PoolOrder* order = &snap->default_pools;
  if (room_index >= 0 && room_index < static_cast<int>(snap->room_pools.size()) &&
      !snap->room_pools[room_index].empty()) {
    order = &snap->room_pools[room_index];
  }
  if (order->empty()) {
    d.upstream = snap->default_upstream;
    return;
  }
  OriginState* origin = PickOrigin(*order, d.route, ThreadRandom());
  if (origin == nullptr) {
    // Keeps d.headers: a user admitted by this request keeps the cookie that says so.
    outcomes_.no_origin->Increment();
    d.kind = Decision::Kind::kRespond;
    d.status = 503;
    d.content_type = "text/html; charset=utf-8";
    d.body = kNoOriginPage;
    d.headers.emplace_back("Retry-After", "10");
    d.headers.emplace_back("Cache-Control", "no-store");
    return;
  }
  d.upstream = origin->upstream;
  d.route.hold = snap;
  d.route.order = order;
  d.route.lease = OriginLease(origin);
  d.route.MarkTried(origin);
}

namespace {

// Whether some origin other than `origin` that `order` could send a request to is up.
bool AnotherOriginUp(const PoolOrder& order, const OriginState& origin) {
  auto any_up = [&](const PoolEntry* pool) {
    if (pool == nullptr) return false;
    for (const auto& o : pool->origins) {
      if (o.get() != &origin && o->enabled && o->up.load(std::memory_order_relaxed)) return true;
    }
    return false;
  };
  for (const PoolEntry* pool : order.pools) {
    if (any_up(pool)) return true;
  }
  return any_up(order.fallback);
}

}  // namespace

void WaitingRoomHandler::CountPassiveFailure(OriginState& origin, const PoolOrder* order,
                                             std::string_view what) const {
  const int failures = origin.passive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (options_.passive_down_after <= 0 || failures < options_.passive_down_after) return;
  // Live failures only move traffic somewhere else: they never take down the last origin a
  // request could go to (an application error on every origin is not an origin outage).
  // Probes still can.
  if (order == nullptr || !AnotherOriginUp(*order, origin)) return;
  if (!origin.up.exchange(false, std::memory_order_relaxed)) return;
  // Counted afresh once probes bring it back.
  origin.passive_failures.store(0, std::memory_order_relaxed);
  // The prober sees this and wants consecutive_up good probes before trusting it again.
  origin.passive_down.store(true, std::memory_order_relaxed);
  origin.last_failure.store(static_cast<int>(OriginFailure::kPassive), std::memory_order_relaxed);
  origin.transitions.fetch_add(1, std::memory_order_relaxed);
  outcomes_.passive_down->Increment();
  spdlog::warn("origin {}/{} is down: {} live requests in a row failed ({})", origin.pool_id,
               origin.key, failures, what);
}

bool WaitingRoomHandler::Reroute(Decision& d, UpstreamFailureKind why, bool may_retry) {
  OriginState* origin = d.route.lease.get();
  if (origin == nullptr) return false;
  CountPassiveFailure(*origin, d.route.order,
                      why == UpstreamFailureKind::kConnect   ? "no connection"
                      : why == UpstreamFailureKind::kTimeout ? "timed out"
                                                             : "connection reset");
  if (!may_retry || d.route.order == nullptr) return false;
  OriginState* next = PickOrigin(*d.route.order, d.route, ThreadRandom());
  if (next == nullptr) return false;
  d.upstream = next->upstream;
  d.route.lease = OriginLease(next);
  d.route.MarkTried(next);
  return true;
}

Decision WaitingRoomHandler::Decide(const AgentSnapshot& snap, int index,
                                    const RequestView& request, std::string_view /*host*/,
                                    std::string_view /*path*/, bool status_call,
                                    int64_t now_ms) const {
  const RoomRuntime& room = *snap.rooms[index];
  const v1::RoomView* view = snap.views[index].get();
  Context c{.snap = snap,
            .room = room,
            .view = view,
            .request = request,
            .index = index,
            .status_call = status_call,
            .forward_auth = options_.forward_auth,
            .now_ms = now_ms,
            .now_s = FloorDiv(now_ms, 1000),
            .session_seconds = view && view->session_duration_seconds() > 0
                                   ? view->session_duration_seconds()
                                   : common::SessionSeconds(room.config),
            .refresh_seconds = common::RefreshSeconds(room.config),
            .token = {},
            .cookie_value = {},
            .arrival_rank = 0};
  const v1::RoomPhase phase = view                      ? view->phase()
                              : room.config.suspended() ? v1::ROOM_PHASE_SUSPENDED
                                                        : v1::ROOM_PHASE_UNSPECIFIED;
  if (phase == v1::ROOM_PHASE_SUSPENDED) {
    outcomes_.suspended->Increment();
    return Pass(c, false);
  }
  if (room.bypass.Matches(request, snap.keyring.get(), c.now_s)) {
    outcomes_.bypass->Increment();
    return Pass(c, false);
  }

  // The user's token: none, queued or active. Anything invalid counts as none.
  bool have_token = false;
  const std::optional<std::string_view> cookie = FindCookie(request.cookie, room.cookie_name);
  if (snap.keyring && cookie) {
    absl::StatusOr<Token> t =
        tokens_.Decode(*cookie, room.config.id(), *snap.keyring, c.now_s, &c.cookie_value);
    if (t.ok()) {
      c.token = *std::move(t);
      have_token = true;
    } else if (TokenErrorOf(t.status()) != TokenError::kExpired) {
      // An ended session is ordinary; anything else is worth counting.
      outcomes_.invalid_token->Increment();
      room.counters->CountInvalidToken();
    }
  }
  if (have_token && !StillValid(c)) {
    have_token = false;
    c.token = Token{};
    c.cookie_value.clear();
  }

  if (have_token && c.token.state == TokenState::kActive) {
    outcomes_.admitted->Increment();
    // A replayed old cookie comes back from the cache already renewed: hand out the same
    // renewed cookie again rather than moving the session once more.
    bool send_cookie = !c.cookie_value.empty();
    if (common::SessionRenewal(room.config)) {
      int64_t slot = common::SlotCeilMs(now_ms + c.session_seconds * 1000);
      if (common::MaxSessionSeconds(room.config) > 0) {
        // A session from before the room had a cap is capped from now.
        if (c.token.admitted_unix == 0) c.token.admitted_unix = c.now_s;
        slot = std::min(slot, CapSlot(room.config, c.token.admitted_unix));
      }
      if (slot > c.token.expiry_slot) {
        room.counters->MoveSession(c.token.expiry_slot, slot);
        c.token.expiry_slot = slot;
        c.token.key_id = snap.keyring->Current().id();
        c.cookie_value = EncodeToken(c.token, snap.keyring->Current());
        tokens_.Renewed(*cookie, c.token, c.cookie_value);
        send_cookie = true;
      }
    }
    return Pass(c, send_cookie);
  }

  if (phase == v1::ROOM_PHASE_CLOSED) {
    outcomes_.closed->Increment();
    Decision d;
    d.kind = Decision::Kind::kRespond;
    PageModel model;
    model.room_id = room.config.id();
    model.title =
        room.config.page().title().empty() ? room.config.id() : room.config.page().title();
    model.status = "closed";
    model.refresh_after_seconds = c.refresh_seconds;
    const bool json = status_call || (room.config.json_response() && WantsJson(request.accept));
    d.status = status_call ? 200 : 503;
    d.content_type = json ? "application/json" : "text/html; charset=utf-8";
    d.body =
        json ? RenderStatusJson(model) : room.pages.RenderClosed(model, request.accept_language);
    d.headers.emplace_back("Cache-Control", "no-store");
    d.headers.emplace_back("X-Anteroom-Status", "closed");
    return d;
  }
  if (!snap.keyring) {
    // Without keys no place can be given: behave as if the coordinator were away.
    Decision d;
    d.kind = Decision::Kind::kRespond;
    d.status = 503;
    d.content_type = "text/plain; charset=utf-8";
    d.body = "The waiting room is starting; please retry in a moment.\n";
    d.headers.emplace_back("Retry-After", "2");
    d.headers.emplace_back("Cache-Control", "no-store");
    return d;
  }

  const int64_t epoch = common::EpochOfMs(now_ms, c.refresh_seconds);
  const bool admits = phase == v1::ROOM_PHASE_OPEN || phase == v1::ROOM_PHASE_EVENT;
  const bool fail_open =
      room.config.fail_mode() == v1::FAIL_MODE_OPEN ||
      (room.config.fail_mode() == v1::FAIL_MODE_UNSPECIFIED && options_.fail_open);

  if (phase == v1::ROOM_PHASE_PASSTHROUGH) {
    if (!have_token) room.counters->CountNewcomer();
    return Admit(c, have_token ? c.token.bucket : 0, have_token ? c.token.epoch : 0);
  }
  if (!snap.ShardReachable(room.shard) && fail_open && room.counters->TryFailOpen(now_ms)) {
    outcomes_.fail_open->Increment();
    if (!have_token) room.counters->CountNewcomer();
    return Admit(c, have_token ? c.token.bucket : 0, have_token ? c.token.epoch : 0);
  }

  if (!have_token) {
    // A newcomer enters at once while nobody waits for a seat before them and budget is left.
    // When this agent's budget is spent, the newcomer is held for the early Sync that asks
    // for more (one round trip), rather than shown a waiting page with seats free.
    const bool open = admits && view && (view->waiting() == 0 || view->open_to_newcomers());
    if (open && room.counters->TrySpend(now_ms)) {
      room.counters->CountNewcomer();
      return Admit(c, 0, 0);
    }
    // A room this agent has no view of yet (it just started, or the room is new) is held too:
    // the view comes with the next Sync, due at once.
    const bool unknown = !view && phase == v1::ROOM_PHASE_UNSPECIFIED;
    if ((open || unknown) && snap.ShardReachable(room.shard) &&
        request.budget_holds < options_.budget_holds) {
      if (request.budget_holds == 0) {
        outcomes_.held->Increment();
        room.counters->CountNewcomerWaiting();
      }
      return Hold();
    }
    c.token.room_id = room.config.id();
    c.token.visitor_id = NewVisitorId();
    c.token.state = TokenState::kQueued;
    c.token.bucket = c.now_s;
    if (view && view->phase() == v1::ROOM_PHASE_PREQUEUE && view->shuffle_span() > 0) {
      // Prequeue lottery: every early user precedes later arrivals, in random order.
      c.token.bucket = view->shuffle_base_bucket() +
                       static_cast<int64_t>(VisitorLottery(c.token.visitor_id) %
                                            static_cast<uint64_t>(view->shuffle_span()));
    }
    c.token.epoch = epoch;
    c.arrival_rank = room.counters->CountArrival(c.token.bucket, epoch);
    return Wait(c, false, true);
  }

  // A queued user.
  const bool eligible =
      admits && view &&
      IsEligible(*view, room.random, c.token.bucket, VisitorFraction(c.token.visitor_id),
                 VisitorEpochFraction(c.token.visitor_id, epoch));
  // Under FIFO, budget goes to the oldest eligible users this agent has seen first; a RANDOM
  // room's buckets say nothing about order.
  const uint64_t visitor = eligible ? common::StableHash64(std::string_view(
                                          reinterpret_cast<const char*>(c.token.visitor_id.data()),
                                          c.token.visitor_id.size()))
                                    : 0;
  if (eligible && (room.random ? room.counters->TrySpend(now_ms)
                               : room.counters->TrySpendQueued(visitor, c.token.bucket, now_ms))) {
    return Admit(c, c.token.bucket, c.token.epoch);
  }
  if (eligible) {
    room.counters->CountEligibleWaiting(visitor, room.random ? 0 : c.token.bucket, now_ms);
    if (request.budget_holds < options_.budget_holds) {
      // Budget for this user comes with the early Sync just asked for: hold the request for
      // it rather than send the user back to poll, which costs a second or more, and lets
      // users who happen to poll where budget is pass them. Nothing else is counted until the
      // answer.
      if (request.budget_holds == 0) outcomes_.held->Increment();
      return Hold();
    }
  }
  // A user seen within the grace keeps the place: the cookie is written again each epoch.
  bool set_cookie = false;
  if (c.token.epoch < epoch) {
    room.counters->CountPresence(c.token.bucket, epoch);
    c.token.epoch = epoch;
    set_cookie = true;
  }
  return Wait(c, eligible, set_cookie);
}

Decision WaitingRoomHandler::Admit(Context& c, int64_t bucket, int64_t epoch) const {
  outcomes_.admitted_now->Increment();
  int64_t slot = common::SlotCeilMs(c.now_ms + c.session_seconds * 1000);
  if (const int64_t cap = CapSlot(c.room.config, c.now_s); cap > 0) slot = std::min(slot, cap);
  c.room.counters->CountAdmission(bucket, epoch, slot);
  if (c.token.room_id.empty()) {
    c.token.room_id = c.room.config.id();
    c.token.visitor_id = NewVisitorId();
  }
  c.token.state = TokenState::kActive;
  c.token.expiry_slot = slot;
  // Written only when the room caps sessions: such cookies are version 2, which agents
  // older than the cap do not read (a rolling upgrade keeps everyone else's cookies readable).
  c.token.admitted_unix = CapSlot(c.room.config, c.now_s) > 0 ? c.now_s : 0;
  c.cookie_value.clear();  // A new token: encoded below.
  return Pass(c, true);
}

Decision WaitingRoomHandler::Hold() const {
  Decision d;
  d.kind = Decision::Kind::kRespond;
  d.hold_ms = options_.budget_hold_ms;
  return d;
}

bool WaitingRoomHandler::StillValid(const Context& c) const {
  // A revoked visitor's cookies, replayed (the session's, or the queued one kept from
  // before it): the user is a stranger again.
  if (c.room.counters->revoked().Contains(VisitorView(c.token.visitor_id), c.now_ms)) {
    outcomes_.revoked_replay->Increment();
    c.room.counters->CountInvalidToken();
    return false;
  }
  if (c.token.state == TokenState::kActive) return true;
  // A queued user was last counted in token.epoch, so was last seen before that epoch ended.
  // An epoch ahead of now was counted under a shorter refresh interval: seen just now.
  const int64_t epoch_now = common::EpochOfMs(c.now_ms, c.refresh_seconds);
  const int64_t seen_by_s = (std::min(c.token.epoch, epoch_now) + 1) * c.refresh_seconds;
  if (c.now_s - seen_by_s <= common::AbandonGraceSeconds(c.room.config)) return true;
  outcomes_.abandoned->Increment();
  return false;
}

Decision WaitingRoomHandler::Pass(const Context& c, bool with_cookie) const {
  Decision d;
  if (c.forward_auth || c.status_call) {
    d.kind = Decision::Kind::kRespond;
    d.status = 200;
    d.content_type = c.status_call ? "application/json" : "text/plain; charset=utf-8";
    if (c.status_call) {
      PageModel model;
      model.room_id = c.room.config.id();
      model.title = c.room.config.id();
      model.status = "admitted";
      model.refresh_after_seconds = 0;
      model.progress = 1;
      d.body = RenderStatusJson(model);
      d.headers.emplace_back("Cache-Control", "no-store");
    }
  } else {
    d.room_index = c.index;
    if (c.token.state == TokenState::kActive) d.ticket = MakeTicket(c.room.config.id(), c.token);
  }
  if (with_cookie) {
    const std::string value =
        c.cookie_value.empty() ? EncodeToken(c.token, c.snap.keyring->Current()) : c.cookie_value;
    d.headers.emplace_back("Set-Cookie", SetCookieValue(c.room.config, value,
                                                        c.session_seconds + common::kSlotSeconds));
  }
  return d;
}

Decision WaitingRoomHandler::Wait(Context& c, bool eligible, bool set_cookie) const {
  outcomes_.queued->Increment();
  PageModel model;
  model.room_id = c.room.config.id();
  model.title =
      c.room.config.page().title().empty() ? c.room.config.id() : c.room.config.page().title();
  model.status = "queued";
  model.status_url = std::string(kStatusPath) + "?room=" + c.room.config.id();
  QueuePosition pos;
  const double outflow = c.view ? c.view->max_outflow_per_second() : 0.0;
  if (c.view) {
    pos = PositionOf(*c.view, c.token.bucket, VisitorFraction(c.token.visitor_id),
                     std::max<int64_t>(0, c.arrival_rank - 1), c.now_s);
  }
  const v1::Event& ev = c.room.config.event();
  model.prequeue = c.view && c.view->phase() == v1::ROOM_PHASE_PREQUEUE;
  model.event_active = c.view && c.view->phase() == v1::ROOM_PHASE_EVENT;
  model.event_start_unix = ev.start_unix();
  if (model.prequeue) {
    // Nobody is let in before the start: the wait is the time until then, and a shuffled
    // line has no order before the draw, so no position is shown. The page polls at the
    // room's pace until just before the start.
    const int64_t until_start = std::max<int64_t>(0, ev.start_unix() - c.now_s);
    if (c.view->shuffle_span() > 0) pos.position = 0;
    pos.eta_seconds = until_start + (pos.position > 1 ? pos.eta_seconds : 0);
    pos.progress = 0;
    model.refresh_after_seconds = std::clamp<int64_t>(until_start - 2, 1, c.refresh_seconds);
  } else {
    model.refresh_after_seconds = RefreshAfterSeconds(eligible, pos, c.refresh_seconds, outflow);
    // The marker has passed the user: in at a poll or two, whatever the counts ahead say.
    if (eligible) pos.eta_seconds = std::min<int64_t>(pos.eta_seconds, 1);
  }
  model.position = pos.position;
  model.eta_seconds = pos.eta_seconds;
  model.progress = pos.progress;

  Decision d;
  d.kind = Decision::Kind::kRespond;
  const bool json = c.status_call || (c.room.config.json_response() && WantsJson(c.request.accept));
  int status = c.status_call ? 200 : common::QueueingStatusCode(c.room.config);
  // An ingress lets any 2xx through: a waiting user must get something else.
  if (c.forward_auth && status < 300) status = 429;
  d.status = status;
  d.content_type = json ? "application/json" : "text/html; charset=utf-8";
  d.body =
      json ? RenderStatusJson(model) : c.room.pages.RenderQueued(model, c.request.accept_language);
  if (set_cookie) {
    d.headers.emplace_back(
        "Set-Cookie",
        SetCookieValue(c.room.config, EncodeToken(c.token, c.snap.keyring->Current()),
                       common::AbandonGraceSeconds(c.room.config) + c.refresh_seconds));
  }
  d.headers.emplace_back("Cache-Control", "no-store");
  d.headers.emplace_back("Retry-After", std::to_string(model.refresh_after_seconds));
  // Lets scripts, load balancers and tests tell the waiting page from the application.
  d.headers.emplace_back("X-Anteroom-Status", "queued");
  return d;
}

std::vector<std::pair<std::string, std::string>> WaitingRoomHandler::OnUpstreamResponse(
    Decision& decision, int status, std::string_view command, int64_t latency_us) {
  if (OriginState* origin = decision.route.lease.get()) {
    ObserveLatency(*origin, latency_us);
    if (status >= 500) {
      CountPassiveFailure(*origin, decision.route.order, "5xx");
    } else if (origin->passive_failures.load(std::memory_order_relaxed) != 0) {
      origin->passive_failures.store(0, std::memory_order_relaxed);
    }
  }
  if (command != "revoke" || decision.room_index < 0 || decision.ticket.slot == 0) return {};
  std::shared_ptr<const AgentSnapshot> snap = state_.Load();
  if (decision.room_index >= static_cast<int64_t>(snap->rooms.size())) return {};
  const RoomRuntime& room = *snap->rooms[decision.room_index];
  if (decision.ticket.room_hash != common::StableHash64(room.config.id())) return {};
  // The origin ended this user's session (checkout done): free the place now, refuse the
  // cookie from here on, and send only the cookie that clears it. A renewed session's cookie
  // would otherwise follow it, and the browser would keep the last one.
  const int64_t now_ms = clock_.NowMs() + snap->clock_offset_ms;
  const int64_t session_ms = (snap->views[decision.room_index]
                                  ? snap->views[decision.room_index]->session_duration_seconds()
                                  : common::SessionSeconds(room.config)) *
                             1000;
  const int64_t until_ms =
      std::max(now_ms, decision.ticket.slot * 1000) + session_ms + common::kSlotSeconds * 1000;
  room.counters->Revoke(VisitorView(decision.ticket.visitor), decision.ticket.slot, until_ms);
  std::erase_if(decision.headers, [&](const auto& h) {
    return absl::EqualsIgnoreCase(h.first, "Set-Cookie") &&
           h.second.starts_with(room.cookie_name + "=");
  });
  outcomes_.revoked->Increment();
  return {{"Set-Cookie", SetCookieValue(room.config, "", 0)}};
}

void WaitingRoomHandler::OnUpstreamFailure(const Decision& /*decision*/) {}

}  // namespace anteroom::agent
