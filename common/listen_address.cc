#include "common/listen_address.h"

#include <boost/asio/io_context.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace anteroom::common {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// "host:port", "[v6]:port" or ":port".
absl::StatusOr<tcp::endpoint> ResolveListenAddress(std::string_view what,
                                                   const std::string& listen) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(absl::string_view(what.data(), what.size()), " '", listen,
                     "': ", absl::string_view(why.data(), why.size())));
  };
  std::string host;
  std::string port_text;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return invalid("expected [address]:port");
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return invalid("expected host:port");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return invalid("write IPv6 addresses as [address]:port");
    }
  }
  int port = -1;
  if (!absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return invalid("port must be a number from 0 to 65535");
  }
  if (host.empty()) host = "0.0.0.0";
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<uint16_t>(port));
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, port_text, ec);
  if (ec || results.empty()) {
    return invalid(absl::StrCat("cannot resolve '", host, "': ", ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

}  // namespace anteroom::common
