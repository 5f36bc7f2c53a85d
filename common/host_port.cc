#include "common/host_port.h"

namespace anteroom::common {

std::string BracketHost(std::string_view host) {
  host = StripBrackets(host);
  if (host.find(':') == std::string_view::npos) return std::string(host);
  std::string out;
  out.reserve(host.size() + 2);
  out.append("[").append(host).append("]");
  return out;
}

std::string JoinHostPort(std::string_view host, int port) {
  return BracketHost(host) + ":" + std::to_string(port);
}

}  // namespace anteroom::common
