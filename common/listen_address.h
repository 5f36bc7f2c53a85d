#pragma once

// Listen addresses as the daemons' flags take them: "host:port", "[v6]:port" or ":port" (all
// IPv4 interfaces); port 0 asks the kernel for a free one. Shared by the Asio servers.

#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "absl/status/statusor.h"

namespace anteroom::common {

// Resolves `listen`. InvalidArgument starting with `what` (e.g. "admin listen address") and the
// value when it is malformed or names no address.
absl::StatusOr<boost::asio::ip::tcp::endpoint> ResolveListenAddress(std::string_view what,
                                                                    const std::string& listen);

}  // namespace anteroom::common
