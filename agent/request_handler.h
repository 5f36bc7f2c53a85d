#pragma once

// The seam between the HTTP layer (agent/http/) and the waiting-room logic. The HTTP layer
// parses, enforces limits, relays and tunnels; the handler decides.

#include <string_view>

#include "agent/decision.h"
#include "agent/request_view.h"

namespace anteroom::agent {

// Thread-safe: called concurrently from every I/O thread. Must not block.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Decides what to do with a request whose head has been read.
  virtual Decision Handle(const RequestView& request) = 0;

  // For a kProxy decision, once the upstream's response head arrived: its status and the value
  // of its X-Anteroom-Command header (empty when absent). The HTTP layer strips that header
  // before the response reaches the client. Returns extra headers to add to the response
  // (for example a Set-Cookie ending the session); it may also drop headers the decision
  // would have added (a renewed session's cookie, when the origin ended that session).
  // `latency_us` is the time from sending the request head to receiving the response head,
  // measured only when the decision's upstream came from a pool (0 otherwise).
  virtual std::vector<std::pair<std::string, std::string>> OnUpstreamResponse(
      Decision& decision, int status, std::string_view command, int64_t latency_us) = 0;

  // Why an exchange with an origin failed before its response head.
  enum class UpstreamFailureKind {
    kConnect,  // No connection: nothing was sent.
    kReset,    // The connection broke after (part of) the request was sent.
    kTimeout,  // No response head within the upstream timeout.
  };
  // A kProxy decision's exchange failed before a response head (`why`). The handler counts
  // it against the origin (passive health checks); when `may_retry` and another origin can
  // take the request, it points `decision` at that origin and returns true.
  virtual bool Reroute(Decision& decision, UpstreamFailureKind why, bool may_retry) = 0;

  // The upstream could not be reached or failed before a response head, and the request was
  // not rerouted (status 502/504 sent).
  virtual void OnUpstreamFailure(const Decision& decision) = 0;
};

}  // namespace anteroom::agent
