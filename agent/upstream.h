#pragma once

// Upstream: one origin's address, as the HTTP layer connects to it.

#include <cstdint>
#include <string>

namespace anteroom::agent {

struct Upstream {
  std::string host;  // Name or IP literal (IPv6 without brackets).
  uint16_t port = 0;
};

}  // namespace anteroom::agent
