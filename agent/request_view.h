#pragma once

// What the admission logic sees of an HTTP request: the head only, as views into the HTTP
// layer's parser buffers. Valid for the duration of RequestHandler::Handle.

#include <functional>
#include <optional>
#include <string_view>

namespace anteroom::agent {

struct RequestView {
  std::string_view method;           // "GET"
  std::string_view target;           // As sent: path and query, e.g. "/shop?x=1".
  std::string_view path;             // `target` without the query.
  std::string_view host;             // Host header without the port, lower-case.
  std::string_view cookie;           // All Cookie headers joined with "; ".
  std::string_view accept;           // Accept header.
  std::string_view accept_language;  // Accept-Language header.
  std::string_view client_ip;        // Peer address, "203.0.113.7" or "2001:db8::1".
  bool websocket_upgrade = false;    // Connection: upgrade + Upgrade: websocket.
  bool tls = false;                  // Whether the client connection was TLS.
  int budget_holds = 0;              // Times this request was already held (Decision::hold_ms).
  // Any other header by case-insensitive name (first value); nullopt when absent.
  std::function<std::optional<std::string_view>(std::string_view name)> header;
};

}  // namespace anteroom::agent
