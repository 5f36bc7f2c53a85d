// anteroom-demo-origin: a small application to put behind the agent in the demo and in tests.
//
//   GET  /                 a page naming the server (and the user's visit count)
//   GET  /checkout         ends the user's session: answers X-Anteroom-Command: revoke
//   GET  /headers          the request's headers, one per line (to check X-Forwarded-*)
//   GET  /download?bytes=N streams N bytes, chunked
//   POST /upload           reads the body as it streams in; answers the byte count
//   GET  /ws               WebSocket echo
//   GET  /slow?ms=N        answers 200 after N ms (at most 30000), without blocking others
//   GET  /health           answers per the health mode (HEAD too):
//                            up      200 "ok"
//                            down    503 "down"
//                            flap    200 and 503 in turn, starting with 200
//                            slow:MS 200 "ok" after MS milliseconds
//   POST /control/health   the body is the new mode ("up", "down", "flap", "slow:1500");
//                          answers 200 "mode=<mode>", or 400 naming what is wrong
//
// Every response carries X-Origin-Name: <name>, so tests can tell which origin answered.
//
// Flags: --listen=HOST:PORT (default 127.0.0.1:0), --ports-file=FILE ("http=<port>"),
// --name=NAME (shown on pages and in X-Origin-Name), --health=MODE (default up).

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
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
constexpr std::string_view kOriginNameHeader = "X-Origin-Name";
constexpr uint64_t kMaxSlowMs = 30'000;
constexpr size_t kMaxKeptBody = 4096;  // Of a request body, what handlers can read as text.

// What GET /health answers. One I/O thread: no locking needed.
struct HealthMode {
  enum Kind { kUp, kDown, kFlap, kSlow } kind = kUp;
  uint64_t slow_ms = 0;
  bool flap_next_up = true;  // kFlap: what the next /health answers.

  std::string Name() const {
    switch (kind) {
      case kUp:
        return "up";
      case kDown:
        return "down";
      case kFlap:
        return "flap";
      case kSlow:
        return "slow:" + std::to_string(slow_ms);
    }
    return "?";
  }
};
HealthMode g_health;

// Parses "up", "down", "flap" or "slow:MS" (MS 0-600000); surrounding white space is ignored.
// On failure returns nullopt and sets *why.
std::optional<HealthMode> ParseHealthMode(std::string_view text, std::string* why) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  HealthMode mode;
  if (text == "up") {
    mode.kind = HealthMode::kUp;
  } else if (text == "down") {
    mode.kind = HealthMode::kDown;
  } else if (text == "flap") {
    mode.kind = HealthMode::kFlap;
  } else if (text.rfind("slow:", 0) == 0) {
    const std::string_view ms = text.substr(5);
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), n);
    if (ms.empty() || ec != std::errc() || end != ms.data() + ms.size() || n > 600'000) {
      *why = "slow:MS needs MS as a whole number of milliseconds, 0-600000, got '" +
             std::string(ms) + "'";
      return std::nullopt;
    }
    mode.kind = HealthMode::kSlow;
    mode.slow_ms = n;
  } else {
    *why = "unknown health mode '" + std::string(text) + "': expected up, down, flap or slow:MS";
    return std::nullopt;
  }
  return mode;
}

awaitable<void> Sleep(uint64_t ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await timer.async_wait(kNoThrow);
}

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
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(kOriginNameHeader, g_name); }));
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
  res.set(kOriginNameHeader, g_name);
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
    // Drain (and count) whatever body came, in fixed-size pieces; keep its start as text.
    uint64_t body_bytes = 0;
    std::string body_text;
    char chunk[64 * 1024];
    while (!parser.is_done()) {
      req.body().data = chunk;
      req.body().size = sizeof chunk;
      auto [rec, rn] = co_await http::async_read(socket, buffer, parser, kNoThrow);
      if (rec && rec != http::error::need_buffer) co_return;
      const size_t got = sizeof chunk - req.body().size;
      if (body_text.size() < kMaxKeptBody) {
        body_text.append(chunk, std::min(got, kMaxKeptBody - body_text.size()));
      }
      body_bytes += got;
    }
    const std::string path = target.substr(0, target.find('?'));
    if (target.rfind("/download", 0) == 0) {
      bool ok = false;
      co_await Download(socket, QueryNumber(target, "bytes"), keep_alive, &ok);
      if (!ok || !keep_alive) co_return;
      continue;
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, g_name);
    res.set(kOriginNameHeader, g_name);
    res.keep_alive(keep_alive);
    bool head_only = false;
    if (path == "/health") {
      res.set(http::field::content_type, "text/plain");
      res.set(http::field::cache_control, "no-store");
      head_only = req.method() == http::verb::head;
      bool up = true;
      switch (g_health.kind) {
        case HealthMode::kUp:
          break;
        case HealthMode::kDown:
          up = false;
          break;
        case HealthMode::kFlap:
          up = g_health.flap_next_up;
          g_health.flap_next_up = !g_health.flap_next_up;
          break;
        case HealthMode::kSlow:
          co_await Sleep(g_health.slow_ms);
          break;
      }
      res.result(up ? http::status::ok : http::status::service_unavailable);
      res.body() = up ? "ok\n" : "down\n";
    } else if (path == "/control/health") {
      res.set(http::field::content_type, "text/plain");
      std::string why;
      if (req.method() != http::verb::post) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "POST");
        res.body() = "POST the mode: up, down, flap or slow:MS\n";
      } else if (auto mode = ParseHealthMode(body_text, &why)) {
        g_health = *mode;
        res.body() = "mode=" + g_health.Name() + "\n";
      } else {
        res.result(http::status::bad_request);
        res.body() = why + "\n";
      }
    } else if (path == "/slow") {
      const uint64_t ms = std::min(QueryNumber(target, "ms"), kMaxSlowMs);
      co_await Sleep(ms);
      res.set(http::field::content_type, "text/plain");
      res.body() = "slept " + std::to_string(ms) + " ms\n";
    } else if (target.rfind("/upload", 0) == 0) {
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
    if (head_only) res.body().clear();  // Content-Length stays that of the GET.
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
    else if (a.rfind("--health=", 0) == 0) {
      std::string why;
      auto mode = ParseHealthMode(a.substr(9), &why);
      if (!mode) {
        std::fprintf(stderr, "anteroom-demo-origin: --health: %s\n", why.c_str());
        return 2;
      }
      g_health = *mode;
    } else {
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
