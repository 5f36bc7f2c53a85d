#pragma once

// Aliases and small I/O helpers shared by the HTTP layer's translation units. Only files under
// agent/http/ include this (it pulls in Asio).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstddef>
#include <vector>

namespace anteroom::agent::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Expected errors (end of stream, cancellation, resets) come back as values.
inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Drops the first `n` bytes of `buffers`.
inline void ConsumeFront(std::vector<asio::const_buffer>& buffers, size_t n) {
  size_t drop = 0;
  while (drop < buffers.size() && n >= buffers[drop].size()) {
    n -= buffers[drop].size();
    ++drop;
  }
  buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(drop));
  if (n > 0 && !buffers.empty()) buffers.front() += n;
}

// Writes what the socket takes now, without waiting. Returns true when done: everything was
// written, or `ec` is set. On false, `buffers` holds the rest, for WriteRest. Most writes fit
// in the socket's send buffer; this spares them a trip through the event loop (and the hot
// path a coroutine frame). REQUIRES: socket.non_blocking() is true.
inline bool TryWrite(tcp::socket& socket, std::vector<asio::const_buffer>& buffers,
                     error_code& ec) {
  size_t total = asio::buffer_size(buffers);
  if (total == 0) return true;
  size_t written = socket.write_some(buffers, ec);
  if (!ec) {
    if (written == total) return true;
    ConsumeFront(buffers, written);
    return false;
  }
  if (ec != asio::error::would_block && ec != asio::error::try_again) return true;
  ec = {};
  return false;
}

// Writes the rest of `buffers`, waiting as needed.
inline asio::awaitable<error_code> WriteRest(tcp::socket& socket,
                                             std::vector<asio::const_buffer>& buffers) {
  auto [ec, ignored] = co_await asio::async_write(socket, buffers, kUseTuple);
  co_return ec;
}

// Writes every byte of `buffers` (which it may modify).
// REQUIRES: socket.non_blocking() is true.
inline asio::awaitable<error_code> WriteAll(tcp::socket& socket,
                                            std::vector<asio::const_buffer>& buffers) {
  error_code ec;
  if (TryWrite(socket, buffers, ec)) co_return ec;
  co_return co_await WriteRest(socket, buffers);
}

}  // namespace anteroom::agent::http
