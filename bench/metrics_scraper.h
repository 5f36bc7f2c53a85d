#pragma once

// Reads counters from a daemon's Prometheus text endpoint (GET /metrics on the admin port)
// with a plain blocking HTTP/1.1 request, so the benchmark needs no HTTP library.
// Thread-compatible: no shared state.

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace anteroom::bench {

// Fetches http://<host_port>/metrics. Returns the body, or nullopt (with `error` set) when
// the connection fails, times out (2 s) or the status is not 200.
std::optional<std::string> FetchMetrics(const std::string& host_port, std::string* error);

// Sum over all series of metric `name` (any labels) in a Prometheus text body; nullopt when
// the body has no sample of that name.
std::optional<double> SumCounter(absl::string_view body, absl::string_view name);

}  // namespace anteroom::bench
