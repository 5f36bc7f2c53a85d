#pragma once

// The HTTP layer's metrics, registered once at construction so the request path only touches
// atomics. No per-URL or per-upstream labels.

#include <array>

#include "common/metrics.h"

namespace anteroom::agent::http {

enum class BadRequestReason {
  kMalformed,            // 400: request line, fields or chunked framing.
  kHeaderTooLarge,       // 431.
  kBodyTooLarge,         // 413.
  kUnsupportedEncoding,  // 501: a Transfer-Encoding other than chunked.
  kMethodNotAllowed,     // 405: CONNECT.
};

struct HttpMetrics {
  explicit HttpMetrics(common::MetricsRegistry& registry);

  // anteroom_agent_http_requests_total{code="1xx".."5xx"}.
  void CountResponse(int status);

  std::array<common::Counter*, 5> responses_by_class{};
  common::Histogram* request_duration = nullptr;
  common::Gauge* connections = nullptr;
  common::Counter* upstream_connect_failures = nullptr;
  common::Counter* upstream_timeouts = nullptr;
  common::Counter* upstream_retries = nullptr;
  common::Counter* upstream_connections_opened = nullptr;
  common::Counter* websocket_tunnels = nullptr;
  std::array<common::Counter*, 5> bad_requests{};  // By BadRequestReason.
};

}  // namespace anteroom::agent::http
