#include "agent/http/http_metrics.h"

#include <string>

namespace anteroom::agent::http {

HttpMetrics::HttpMetrics(common::MetricsRegistry& registry) {
  for (int i = 0; i < 5; ++i) {
    responses_by_class[i] = registry.RegisterCounter("anteroom_agent_http_requests_total",
                                                     "Requests answered, by status class.",
                                                     {{"code", std::to_string(i + 1) + "xx"}});
  }
  request_duration = registry.RegisterHistogram(
      "anteroom_agent_http_request_duration_seconds",
      "From a request's head read to its response sent.",
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  connections = registry.RegisterGauge("anteroom_agent_connections", "Open client connections.");
  upstream_connect_failures = registry.RegisterCounter(
      "anteroom_agent_upstream_connect_failures_total",
      "Upstream connections that could not be opened (refused, unreachable, unresolvable).");
  upstream_timeouts = registry.RegisterCounter(
      "anteroom_agent_upstream_timeouts_total",
      "Upstream connects or responses that timed out (answered 504 when nothing was sent).");
  upstream_retries = registry.RegisterCounter(
      "anteroom_agent_upstream_retries_total",
      "Requests sent again on a fresh connection after a pooled one turned out closed.");
  upstream_connections_opened = registry.RegisterCounter(
      "anteroom_agent_upstream_connections_opened_total", "Upstream connections opened.");
  websocket_tunnels = registry.RegisterCounter("anteroom_agent_websocket_tunnels_total",
                                               "WebSocket upgrades tunnelled to an upstream.");
  const char* reasons[] = {"malformed", "header_too_large", "body_too_large",
                           "unsupported_transfer_encoding", "method_not_allowed"};
  for (int i = 0; i < 5; ++i) {
    bad_requests[i] = registry.RegisterCounter("anteroom_agent_bad_requests_total",
                                               "Requests refused before reaching the handler.",
                                               {{"reason", reasons[i]}});
  }
}

void HttpMetrics::CountResponse(int status) {
  int index = status / 100 - 1;
  if (index >= 0 && index < 5) responses_by_class[index]->Increment();
}

}  // namespace anteroom::agent::http
