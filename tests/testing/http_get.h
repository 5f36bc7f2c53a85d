#pragma once

// A minimal HTTP/1.1 GET over loopback for tests (Connection: close, whole body read).

#include <string>

#include "absl/status/statusor.h"

namespace anteroom::testing {

struct HttpResult {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:<port><path>. Unavailable when nothing answers within 5 s.
absl::StatusOr<HttpResult> HttpGet(int port, const std::string& path);

}  // namespace anteroom::testing
