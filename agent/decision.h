#pragma once

// What the agent does with one request, as decided by the RequestHandler.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agent/failover/upstream_route.h"
#include "agent/upstream.h"

namespace anteroom::agent {

// The admitted session a proxied request belongs to, so the handler can end it when the
// origin says so. Opaque to the HTTP layer.
struct SessionTicket {
  uint64_t room_hash = 0;  // Of the room id: a revoke racing a configuration change is dropped.
  int64_t slot = 0;        // The session's expiry slot after this request; 0 = no session.
  std::array<uint8_t, 16> visitor{};
};

struct Decision {
  enum class Kind {
    kProxy,    // Relay to `upstream`; add `set_cookie` to the upstream's response.
    kRespond,  // Answer locally with status, headers and body.
  };
  Kind kind = Kind::kProxy;

  // kProxy.
  Upstream upstream;
  // How `upstream` was chosen when it came from origin pools (see UpstreamRoute).
  UpstreamRoute route;
  // Opaque to the HTTP layer: handed back in RequestHandler::OnUpstreamResponse.
  int64_t room_index = -1;
  SessionTicket ticket;

  // kRespond.
  int status = 200;
  std::string content_type;
  std::string body;

  // Both: extra response headers (Set-Cookie, Cache-Control, Retry-After, Location...).
  std::vector<std::pair<std::string, std::string>> headers;

  // Not an answer yet when > 0: the handler expects what the request needs (budget for an
  // eligible user) within about this long. The HTTP layer asks it again after that, with
  // RequestView::budget_holds counted up; nothing else in the decision is meaningful.
  int64_t hold_ms = 0;
};

}  // namespace anteroom::agent
