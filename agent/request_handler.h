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
  // (for example a Set-Cookie ending the session).
  virtual std::vector<std::pair<std::string, std::string>> OnUpstreamResponse(
      const Decision& decision, int status, std::string_view command) = 0;

  // The upstream could not be reached or failed before a response head (status 502/504 sent).
  virtual void OnUpstreamFailure(const Decision& decision) = 0;
};

}  // namespace anteroom::agent
