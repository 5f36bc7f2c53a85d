#pragma once

// WaitingRoomHandler: decides, for every request, whether it goes to the origin, gets the
// waiting page (HTML or JSON), the closed page, or — in forward-auth mode — a yes or no for the
// ingress. Pure logic over the current AgentSnapshot; no I/O.
//
// Thread-safe: called from every I/O thread; reads the snapshot without locks.

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/agent_snapshot.h"
#include "agent/request_handler.h"
#include "agent/token_cache.h"
#include "common/clock.h"
#include "common/metrics.h"

namespace anteroom::agent {

inline constexpr std::string_view kStatusPath = "/__anteroom/status";
inline constexpr std::string_view kForwardAuthPath = "/check";

struct HandlerOptions {
  // Answer GET /check for ingress-nginx auth-url / Traefik forwardAuth instead of proxying.
  bool forward_auth = false;
  // The agent's fail mode for rooms that do not set their own.
  bool fail_open = false;
  // Consecutive failures of live traffic (no connection, a reset before the response, 5xx)
  // that mark an origin down before its next probe; 0 turns passive checks off.
  int passive_down_after = 3;
  // An eligible user who finds no budget left is held this many times, `budget_hold_ms` each,
  // while an early Sync fetches budget, instead of being sent back to poll (0 turns it off).
  // Short holds, so that a request goes on soon after the budget arrives.
  int budget_holds = 9;
  int64_t budget_hold_ms = 50;
};

class WaitingRoomHandler final : public RequestHandler {
 public:
  // `state`, `clock` and `metrics` must outlive the handler.
  WaitingRoomHandler(const AgentState& state, const common::Clock& clock, HandlerOptions options,
                     common::MetricsRegistry& metrics);

  Decision Handle(const RequestView& request) override;
  std::vector<std::pair<std::string, std::string>> OnUpstreamResponse(Decision& decision,
                                                                      int status,
                                                                      std::string_view command,
                                                                      int64_t latency_us) override;
  bool Reroute(Decision& decision, UpstreamFailureKind why, bool may_retry) override;
  void OnUpstreamFailure(const Decision& decision) override;

 private:
  struct Outcomes {
    common::Counter* no_room;
    common::Counter* suspended;
    common::Counter* bypass;
    common::Counter* admitted;      // Requests of users already admitted.
    common::Counter* admitted_now;  // Users let in by this request.
    common::Counter* queued;
    common::Counter* held;  // Eligible users held for budget (each request once).
    common::Counter* closed;
    common::Counter* fail_open;
    common::Counter* revoked;
    common::Counter* revoked_replay;  // Cookies of revoked sessions, refused.
    common::Counter* abandoned;       // Queued places lost after the room's grace unseen.
    common::Counter* invalid_token;
    common::Counter* no_origin;     // 503: no origin of the request's pools is up.
    common::Counter* passive_down;  // Origins marked down by live traffic.
  };
  struct Context;

  Decision Decide(const AgentSnapshot& snap, int index, const RequestView& request,
                  std::string_view host, std::string_view path, bool status_call,
                  int64_t now_ms) const;
  Decision Admit(Context& c, int64_t bucket, int64_t epoch) const;
  // Points a kProxy decision at an origin of the room's pools (room_index < 0: the default
  // ones), or turns it into a 503 when none is up.
  void RouteToOrigin(const std::shared_ptr<const AgentSnapshot>& snap, int room_index,
                     Decision& d) const;
  // Counts a failure of live traffic against `origin`; marks it down at the threshold unless
  // no other origin of `order` is up.
  void CountPassiveFailure(OriginState& origin, const PoolOrder* order,
                           std::string_view what) const;
  Decision Wait(Context& c, bool eligible, bool set_cookie) const;
  // Not an answer yet: ask again once the early Sync may have brought budget.
  Decision Hold() const;
  // Whether the decoded token still stands: not a revoked session, nor a queued place whose
  // user went unseen longer than the room's grace. Counts the ones that do not.
  bool StillValid(const Context& c) const;
  Decision Pass(const Context& c, bool with_cookie) const;

  const AgentState& state_;
  const common::Clock& clock_;
  const HandlerOptions options_;
  Outcomes outcomes_;
  mutable TokenCache tokens_;
};

}  // namespace anteroom::agent
