#pragma once

// Host names next to ports: IPv6 literals take brackets in "host:port" and in URLs, and lose
// them when a socket address is resolved. One place for the rule, so an origin is spelled the
// same in the agent's table, its probes, its Sync reports and anteroomctl's output.

#include <cstdint>
#include <string>
#include <string_view>

namespace anteroom::common {

// "[::1]" -> "::1"; anything not wholly in brackets is returned as is.
inline std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// "::1" -> "[::1]" (a host with a colon is an IPv6 literal); other hosts as they are.
std::string BracketHost(std::string_view host);

// "host:port", the host bracketed when it is an IPv6 literal (with or without brackets given).
std::string JoinHostPort(std::string_view host, int port);

}  // namespace anteroom::common
