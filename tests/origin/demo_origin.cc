// anteroom-demo-origin: a small application to put behind the agent in the demo and in tests.
//
//   GET  /                 a page naming the server (and the user's visit count)
//   GET  /checkout         ends the user's session: answers X-Anteroom-Command: revoke
//   GET  /headers          the request's headers, one per line (to check X-Forwarded-*)
//   GET  /download?bytes=N streams N bytes, chunked
//   POST /upload           reads the body as it streams in; answers the byte count
//   GET  /ws               WebSocket echo
//
// Flags: --listen=HOST:PORT (default 127.0.0.1:0), --ports-file=FILE ("http=<port>"),
// --name=NAME (shown on pages).

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <string>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

std::string g_name = "demo-origin";

std::string Page(const std::string& title, const std::string& body) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         title +
         "</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;"
         "margin:3rem auto;padding:0 1rem;line-height:1.5}a{color:#0a58ca}</style></head><body>" +
         body + "</body></html>";
}

uint64_t QueryNumber(std::string_view target, std::string_view key) {
  const size_t at = target.find(std::string(key) + "=");
  if (at == std::string_view::npos) return 0;
  std::string_view v = target.substr(at + key.size() + 1);
  uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

awaitable<void> WebSocketEcho(tcp::socket socket, http::request<http::empty_body> req) {
  websocket::stream<tcp::socket> ws(std::move(socket));
  auto [ec] = co_await ws.async_accept(req, kNoThrow);
  if (ec) co_return;
  beast::flat_buffer buffer;
  while (true) {
    auto [rec, n] = co_await ws.async_read(buffer, kNoThrow);
    if (rec) co_return;
    ws.text(ws.got_text());
    auto [wec, m] = co_await ws.async_write(buffer.data(), kNoThrow);
    if (wec) co_return;
    buffer.consume(buffer.size());
  }
}

awaitable<void> Download(tcp::socket& socket, uint64_t bytes, bool keep_alive, bool* ok) {
  http::response<http::buffer_body> res{http::status::ok, 11};
  res.set(http::field::server, g_name);
  res.set(http::field::content_type, "application/octet-stream");
  res.chunked(true);
  res.keep_alive(keep_alive);
  res.body().data = nullptr;
  res.body().more = true;
  http::response_serializer<http::buffer_body> sr{res};
  auto [hec, hn] = co_await http::async_write_header(socket, sr, kNoThrow);
  if (hec) co_return;
  static char chunk[64 * 1024];
  std::fill(std::begin(chunk), std::end(chunk), 'x');
  while (bytes > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, sizeof chunk));
    res.body().data = chunk;
    res.body().size = n;
    res.body().more = true;
    auto [ec, w] = co_await http::async_write(socket, sr, kNoThrow);
    if (ec && ec != http::error::need_buffer) co_return;
    bytes -= n;
  }
  res.body().data = nullptr;
  res.body().more = false;
  auto [ec, w] = co_await http::async_write(socket, sr, kNoThrow);
  *ok = !ec;
}

awaitable<void> Session(tcp::socket socket) {
  beast::flat_buffer buffer;
  uint64_t visits = 0;
  while (true) {
    http::request_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [ec, n] = co_await http::async_read_header(socket, buffer, parser, kNoThrow);
    if (ec) co_return;
    auto& req = parser.get();
    const std::string target(req.target());
    const bool keep_alive = req.keep_alive();
    if (websocket::is_upgrade(req) && target.rfind("/ws", 0) == 0) {
      http::request<http::empty_body> head(req.base());
      co_await WebSocketEcho(std::move(socket), std::move(head));
      co_return;
    }
    // Drain (and count) whatever body came, in fixed-size pieces.
    uint64_t body_bytes = 0;
    char chunk[64 * 1024];
    while (!parser.is_done()) {
      req.body().data = chunk;
      req.body().size = sizeof chunk;
      auto [rec, rn] = co_await http::async_read(socket, buffer, parser, kNoThrow);
      if (rec && rec != http::error::need_buffer) co_return;
      body_bytes += sizeof chunk - req.body().size;
    }
    if (target.rfind("/download", 0) == 0) {
      bool ok = false;
      co_await Download(socket, QueryNumber(target, "bytes"), keep_alive, &ok);
      if (!ok || !keep_alive) co_return;
      continue;
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, g_name);
    res.keep_alive(keep_alive);
    if (target.rfind("/upload", 0) == 0) {
      res.set(http::field::content_type, "application/json");
      res.body() = "{\"bytes\":" + std::to_string(body_bytes) + "}\n";
    } else if (target.rfind("/headers", 0) == 0) {
      res.set(http::field::content_type, "text/plain");
      for (const auto& f : req) {
        res.body() += std::string(f.name_string()) + ": " + std::string(f.value()) + "\n";
      }
    } else if (target.rfind("/checkout", 0) == 0) {
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.set("X-Anteroom-Command", "revoke");
      res.body() = Page("Thank you", "<h1>Thank you for your order</h1><p>Your place in " + g_name +
                                         " is now free for the next person in line.</p>");
    } else {
      ++visits;
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.body() =
          Page(g_name, "<h1>Welcome to " + g_name +
                           "</h1><p>You are in. Requests on "
                           "this connection: " +
                           std::to_string(visits) +
                           ".</p><p><a href=\"/checkout\">Check out</a> to give your place to the "
                           "next person waiting.</p>");
    }
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, res, kNoThrow);
    if (wec || !keep_alive) co_return;
  }
}

awaitable<void> Listen(tcp::acceptor& acceptor) {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), Session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string ports_file;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--listen=", 0) == 0)
      listen = std::string(a.substr(9));
    else if (a.rfind("--ports-file=", 0) == 0)
      ports_file = std::string(a.substr(13));
    else if (a.rfind("--name=", 0) == 0)
      g_name = std::string(a.substr(7));
    else {
      std::fprintf(stderr, "anteroom-demo-origin: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "anteroom-demo-origin: --listen: expected host:port\n");
    return 2;
  }
  asio::io_context io(1);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec) {
    std::fprintf(stderr, "anteroom-demo-origin: --listen: bad address %s\n", listen.c_str());
    return 2;
  }
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
  acceptor.open(endpoint.protocol(), ec);
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "anteroom-demo-origin: cannot listen on %s: %s\n", listen.c_str(),
                 ec.message().c_str());
    return 1;
  }
  if (!ports_file.empty()) {
    std::ofstream(ports_file + ".tmp") << "http=" << acceptor.local_endpoint().port() << "\n";
    std::rename((ports_file + ".tmp").c_str(), ports_file.c_str());
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, auto) { io.stop(); });
  asio::co_spawn(io, Listen(acceptor), asio::detached);
  io.run();
  return 0;
}
