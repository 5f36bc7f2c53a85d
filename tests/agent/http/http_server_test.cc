// The HTTP server end to end on 127.0.0.1: a fake RequestHandler, a fake upstream written with
// Beast, and blocking clients with receive timeouts so that no test can hang.

#include "agent/http/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace anteroom::agent::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr uint64_t kBigBody = 50ull * 1024 * 1024;

// The byte at `offset` of every generated body.
char PatternByte(uint64_t offset) { return static_cast<char>('a' + offset % 23); }

uint64_t Fnv(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}
constexpr uint64_t kFnvStart = 1469598103934665603ull;

std::string QueryValue(std::string_view target, std::string_view key) {
  std::string needle = std::string(key) + "=";
  size_t at = target.find(needle);
  if (at == std::string_view::npos) return "";
  std::string_view rest = target.substr(at + needle.size());
  return std::string(rest.substr(0, rest.find('&')));
}

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// An origin server on its own thread. Each request's head is recorded; the path picks the
// behaviour (see Route).
class FakeUpstream {
 public:
  FakeUpstream() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeUpstream() {
    ioc_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.empty() ? "" : requests_.back();
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      ++connections_;
      asio::co_spawn(ioc_, Serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  asio::awaitable<void> Serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    std::vector<char> chunk(64 * 1024);
    for (;;) {
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.body_limit(boost::none);
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
      if (ec) co_return;
      auto& request = parser.get();
      std::string head =
          std::string(request.method_string()) + " " + std::string(request.target()) + "\n";
      for (const auto& field : request) {
        head += std::string(field.name_string()) + ": " + std::string(field.value()) + "\n";
      }
      if (websocket::is_upgrade(request)) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(head);
        }
        co_await WebSocketEcho(std::move(stream), request);
        co_return;
      }
      uint64_t bytes = 0;
      uint64_t hash = kFnvStart;
      while (!parser.is_done()) {
        request.body().data = chunk.data();
        request.body().size = chunk.size();
        auto [read_error, m] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
        if (read_error == bhttp::error::need_buffer) read_error = {};
        if (read_error) co_return;
        size_t got = chunk.size() - request.body().size;
        bytes += got;
        hash = Fnv(hash, std::string_view(chunk.data(), got));
      }
      head +=
          "body-bytes: " + std::to_string(bytes) + "\nbody-hash: " + std::to_string(hash) + "\n";
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(head);
      }
      bool keep_alive = request.keep_alive();
      std::string target(request.target());
      bool go_on =
          co_await Route(stream, target, head, keep_alive, request.method() == bhttp::verb::head);
      if (!go_on || !keep_alive) {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  // Writes the response; false closes the connection.
  asio::awaitable<bool> Route(beast::tcp_stream& stream, const std::string& target,
                              const std::string& head, bool keep_alive, bool head_request) {
    std::string path = target.substr(0, target.find('?'));
    if (path == "/slow") {
      asio::steady_timer timer(ioc_,
                               std::chrono::milliseconds(std::stoi(QueryValue(target, "ms"))));
      co_await timer.async_wait(kUseTuple);
    }
    if (path == "/download") co_return co_await Download(stream, target);
    if (path == "/raw-chunked") {
      co_return co_await Raw(stream,
                             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                             "Trailer: X-Checksum\r\n\r\n"
                             "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n");
    }
    if (path == "/until-close") {
      co_await Raw(stream, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close body");
      co_return false;
    }
    if (path == "/interim") {
      co_return co_await Raw(stream,
                             "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
    }
    bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
    response.set(bhttp::field::content_type, "text/plain");
    if (path == "/command") {
      response.set("X-Anteroom-Command", "release");
      response.set(bhttp::field::connection, "X-Hop");
      response.set("X-Hop", "secret");
      response.set("Keep-Alive", "timeout=5");
      response.set("X-End", "kept");
    }
    if (path == "/status") {
      response.result(std::stoi(QueryValue(target, "code")));
    }
    response.body() = head;
    response.keep_alive(keep_alive);
    response.prepare_payload();
    if (head_request) {
      bhttp::response_serializer<bhttp::string_body> serializer(response);
      auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, kUseTuple);
      co_return !ec;
    }
    auto [ec, n] = co_await bhttp::async_write(stream, response, kUseTuple);
    if (ec) co_return false;
    // Answers as if it kept the connection, then closes it: the pooled connection is stale.
    if (path == "/close") co_return false;
    co_return true;
  }

  asio::awaitable<bool> Raw(beast::tcp_stream& stream, std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), kUseTuple);
    co_return !ec;
  }

  // GET /download?bytes=N&chunked=0|1: N pattern bytes, generated piece by piece.
  asio::awaitable<bool> Download(beast::tcp_stream& stream, const std::string& target) {
    uint64_t total = std::stoull(QueryValue(target, "bytes"));
    bool chunked = QueryValue(target, "chunked") == "1";
    bhttp::response<bhttp::buffer_body> response{bhttp::status::ok, 11};
    if (chunked) {
      response.chunked(true);
    } else {
      response.content_length(total);
    }
    response.body().data = nullptr;
    response.body().more = true;
    bhttp::response_serializer<bhttp::buffer_body> serializer(response);
    auto [header_error, h] = co_await bhttp::async_write_header(stream, serializer, kUseTuple);
    if (header_error) co_return false;
    std::vector<char> piece(48 * 1024);
    uint64_t sent = 0;
    while (sent < total) {
      size_t size = static_cast<size_t>(std::min<uint64_t>(piece.size(), total - sent));
      for (size_t i = 0; i < size; ++i) piece[i] = PatternByte(sent + i);
      sent += size;
      response.body().data = piece.data();
      response.body().size = size;
      response.body().more = true;
      auto [ec, n] = co_await bhttp::async_write(stream, serializer, kUseTuple);
      if (ec && ec != bhttp::error::need_buffer) co_return false;
    }
    response.body().data = nullptr;
    response.body().size = 0;
    response.body().more = false;
    auto [ec, n] = co_await bhttp::async_write(stream, serializer, kUseTuple);
    co_return !ec;
  }

  asio::awaitable<void> WebSocketEcho(beast::tcp_stream stream,
                                      const bhttp::request<bhttp::buffer_body>& request) {
    websocket::stream<beast::tcp_stream> ws(std::move(stream));
    bhttp::request<bhttp::empty_body> upgrade(request.base());
    auto [accept_error] = co_await ws.async_accept(upgrade, kUseTuple);
    if (accept_error) co_return;
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, kUseTuple);
      if (ec) co_return;
      ws.text(ws.got_text());
      auto [write_error, m] = co_await ws.async_write(buffer.data(), kUseTuple);
      if (write_error) co_return;
      buffer.consume(buffer.size());
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// A port with nothing listening: connecting to it is refused.
int ClosedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

struct SeenRequest {
  std::string method, target, path, host, cookie, client_ip, x_test;
  bool websocket = false;
};

// Proxies to the fake upstream, answers /local* itself, proxies /unreachable* to a closed
// port.
class FakeHandler : public RequestHandler {
 public:
  explicit FakeHandler(int upstream_port) : upstream_port_(upstream_port) {}

  Decision Handle(const RequestView& request) override {
    SeenRequest seen{std::string(request.method),
                     std::string(request.target),
                     std::string(request.path),
                     std::string(request.host),
                     std::string(request.cookie),
                     std::string(request.client_ip),
                     std::string(request.header("x-test").value_or("<none>")),
                     request.websocket_upgrade};
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(seen);
    }
    Decision decision;
    if (seen.path.starts_with("/local")) {
      decision.kind = Decision::Kind::kRespond;
      decision.status = 200;
      decision.content_type = "text/plain";
      decision.body = "local body\n";
      decision.headers = {{"X-Local", "1"}};
      if (seen.path == "/local-cached") decision.headers.push_back({"Cache-Control", "max-age=5"});
      return decision;
    }
    decision.kind = Decision::Kind::kProxy;
    decision.upstream = {
        "127.0.0.1", static_cast<uint16_t>(seen.path.starts_with("/unreachable") ? closed_port_
                                                                                 : upstream_port_)};
    decision.room_index = 7;
    if (seen.path.starts_with("/reroute")) {
      decision.upstream.port = static_cast<uint16_t>(closed_port_);
      decision.room_index = 8;
    }
    decision.headers = {{"Set-Cookie", "room=abc; Path=/"}};
    return decision;
  }

  std::vector<std::pair<std::string, std::string>> OnUpstreamResponse(
      Decision& decision, int status, std::string_view command, int64_t /*latency_us*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    responses_.push_back({status, std::string(command)});
    EXPECT_EQ(decision.room_index, 7);
    if (command == "release") return {{"Set-Cookie", "session=end; Max-Age=0"}};
    return {};
  }

  // "/reroute..." requests start on the closed port and may move to the live one.
  bool Reroute(Decision& decision, UpstreamFailureKind why, bool may_retry) override {
    std::lock_guard<std::mutex> lock(mu_);
    reroute_calls_.push_back({why, may_retry});
    if (!may_retry || decision.room_index != 8) return false;
    decision.upstream.port = static_cast<uint16_t>(upstream_port_);
    decision.room_index = 7;
    return true;
  }

  void OnUpstreamFailure(const Decision& decision) override {
    EXPECT_TRUE(decision.room_index == 7 || decision.room_index == 8) << decision.room_index;
    ++failures_;
  }

  std::vector<std::pair<UpstreamFailureKind, bool>> reroute_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return reroute_calls_;
  }

  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::vector<std::pair<int, std::string>> responses() {
    std::lock_guard<std::mutex> lock(mu_);
    return responses_;
  }
  int failures() const { return failures_.load(); }

 private:
  const int upstream_port_;
  const int closed_port_ = ClosedPort();
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
  std::vector<std::pair<int, std::string>> responses_;
  std::atomic<int> failures_{0};
  std::vector<std::pair<UpstreamFailureKind, bool>> reroute_calls_;
};

struct Response {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // Names lower-cased.
  std::string body;
  uint64_t body_bytes = 0;
  bool body_ok = true;  // Pattern check for downloads.

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "<none>" : it->second;
  }
  size_t Count(const std::string& name) const { return headers.count(name); }
};

// A response parser that keeps the body or only checks it against the pattern.
class ClientParser final : public bhttp::basic_parser<false> {
 public:
  ClientParser(Response& response, bool check_pattern)
      : response_(response), check_pattern_(check_pattern) {}

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int status, beast::string_view, int, beast::error_code&) override {
    response_.status = status;
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    response_.headers.emplace(lower, std::string(value));
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    Take(body);
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    Take(body);
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  void Take(beast::string_view body) {
    if (check_pattern_) {
      for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] != PatternByte(response_.body_bytes + i)) response_.body_ok = false;
      }
    } else {
      response_.body.append(body.data(), body.size());
    }
    response_.body_bytes += body.size();
  }

  Response& response_;
  bool check_pattern_;
};

// A blocking client whose reads give up after a few seconds.
class Client {
 public:
  explicit Client(int port, std::chrono::seconds timeout = 10s) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~Client() { ::close(fd_); }

  bool connected() const { return connected_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One response; nullopt when the connection closed or timed out first.
  std::optional<Response> Read(bool head_request = false, bool check_pattern = false) {
    Response response;
    ClientParser parser(response, check_pattern);
    parser.eager(true);
    parser.body_limit(boost::none);
    if (head_request) parser.skip(true);
    for (;;) {
      if (!pending_.empty()) {
        beast::error_code ec;
        size_t n = parser.put(asio::buffer(pending_), ec);
        pending_.erase(0, n);
        if (ec && ec != bhttp::error::need_more) return std::nullopt;
        if (parser.is_done()) return response;
        if (!ec && n > 0) continue;
      }
      char buffer[64 * 1024];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n < 0) return std::nullopt;
      if (n == 0) {
        if (!parser.got_some()) return std::nullopt;
        beast::error_code ec;
        parser.put_eof(ec);
        if (ec) return std::nullopt;
        return response;
      }
      pending_.append(buffer, static_cast<size_t>(n));
    }
  }

  // Whether the server closed the connection (end of stream within the timeout).
  bool Closed() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  std::string& pending() { return pending_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

std::string Get(std::string_view target, std::string_view extra = "") {
  return std::string("GET ") + std::string(target) + " HTTP/1.1\r\nHost: shop.example\r\n" +
         std::string(extra) + "\r\n";
}

class HttpServerTest : public ::testing::Test {
 protected:
  // Metrics are counted once a response is written, so a client may see it first.
  bool WaitForMetric(const std::string& line) {
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (metrics_.RenderPrometheusText().find(line) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  void SetUp() override { handler_ = std::make_unique<FakeHandler>(upstream_.port()); }
  void TearDown() override {
    if (server_ != nullptr) server_->Stop(0ms);
  }

  int StartServer(HttpServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    if (options.io_threads == 0) options.io_threads = 1;
    server_ = std::make_unique<HttpServer>(options, *handler_, metrics_);
    absl::StatusOr<int> port = server_->Start();
    EXPECT_TRUE(port.ok()) << port.status();
    port_ = port.value_or(0);
    return port_;
  }

  std::optional<Response> RoundTrip(std::string_view request) {
    Client client(port_);
    if (!client.Send(request)) return std::nullopt;
    return client.Read();
  }

  FakeUpstream upstream_;
  std::unique_ptr<FakeHandler> handler_;
  common::MetricsRegistry metrics_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, StartReportsBadAddress) {
  HttpServerOptions options;
  options.listen = "nonsense";
  HttpServer server(options, *handler_, metrics_);
  absl::StatusOr<int> port = server.Start();
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("nonsense"), std::string::npos);
}

TEST_F(HttpServerTest, StartReportsAddressInUse) {
  int port = StartServer();
  HttpServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(port);
  HttpServer second(options, *handler_, metrics_);
  absl::StatusOr<int> result = second.Start();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find(options.listen), std::string::npos);
}

TEST_F(HttpServerTest, ProxiesAndReusesOneUpstreamConnection) {
  StartServer();
  Client client(port_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.Send(Get("/page?i=" + std::to_string(i))));
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("GET /page?i=" + std::to_string(i)), std::string::npos);
  }
  // New client connections reuse the pooled upstream connection too.
  for (int i = 0; i < 5; ++i) {
    std::optional<Response> response = RoundTrip(Get("/again"));
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_EQ(upstream_.connections(), 1);
}

TEST_F(HttpServerTest, ShowsTheHandlerTheRequestHead) {
  StartServer();
  std::optional<Response> response = RoundTrip(
      "GET /shop/item?id=3 HTTP/1.1\r\nHost: Shop.Example:8080\r\nCookie: a=1\r\n"
      "X-Test: yes\r\nCookie: b=2\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  std::vector<SeenRequest> seen = handler_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/shop/item?id=3");
  EXPECT_EQ(seen[0].path, "/shop/item");
  EXPECT_EQ(seen[0].host, "shop.example");
  EXPECT_EQ(seen[0].cookie, "a=1; b=2");
  EXPECT_EQ(seen[0].client_ip, "127.0.0.1");
  EXPECT_EQ(seen[0].x_test, "yes");
  EXPECT_FALSE(seen[0].websocket);
}

TEST_F(HttpServerTest, ForwardsXForwardedAndDropsHopByHopFields) {
  StartServer();
  std::optional<Response> response = RoundTrip(
      "GET /headers HTTP/1.1\r\nHost: Shop.Example:8080\r\n"
      "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: timeout=9\r\n"
      "Proxy-Connection: keep-alive\r\nTE: trailers, deflate\r\nUpgrade: h2c\r\n"
      "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\nX-Kept: 1\r\n\r\n");
  ASSERT_TRUE(response.has_value());
  std::string head = upstream_.last_request();
  EXPECT_NE(head.find("GET /headers\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-For: 203.0.113.9, 127.0.0.1\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Proto: http\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Forwarded-Host: Shop.Example:8080\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Host: Shop.Example:8080\n"), std::string::npos) << head;
  EXPECT_NE(head.find("TE: trailers\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Kept: 1\n"), std::string::npos) << head;
  for (const char* gone : {"X-Secret", "Keep-Alive", "Proxy-Connection", "Upgrade", "Connection",
                           "deflate", "https"}) {
    EXPECT_EQ(head.find(gone), std::string::npos) << gone << " in\n" << head;
  }
}

TEST_F(HttpServerTest, StripsCommandAndAddsDecisionAndHandlerCookies) {
  StartServer();
  std::optional<Response> response = RoundTrip(Get("/command"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Count("x-anteroom-command"), 0u);
  EXPECT_EQ(response->Count("x-hop"), 0u);
  EXPECT_EQ(response->Count("keep-alive"), 0u);
  EXPECT_EQ(response->Header("x-end"), "kept");
  std::vector<std::string> cookies;
  for (auto [it, end] = response->headers.equal_range("set-cookie"); it != end; ++it) {
    cookies.push_back(it->second);
  }
  EXPECT_EQ(cookies, (std::vector<std::string>{"session=end; Max-Age=0", "room=abc; Path=/"}));
  auto responses = handler_->responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].first, 200);
  EXPECT_EQ(responses[0].second, "release");

  // Without the header the handler is told an empty command.
  ASSERT_TRUE(RoundTrip(Get("/plain")).has_value());
  responses = handler_->responses();
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[1].second, "");
}

TEST_F(HttpServerTest, AnswersLocallyWithNoStoreAndKeepsAlive) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/local")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "local body\n");
  EXPECT_EQ(response->Header("cache-control"), "no-store");
  EXPECT_EQ(response->Header("x-local"), "1");
  EXPECT_EQ(response->Header("content-type"), "text/plain");

  ASSERT_TRUE(client.Send(Get("/local-cached")));
  response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("cache-control"), "max-age=5");
  EXPECT_EQ(response->Count("cache-control"), 1u);

  ASSERT_TRUE(client.Send("HEAD /local HTTP/1.1\r\nHost: a\r\n\r\n"));
  response = client.Read(/*head_request=*/true);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("content-length"), "11");
  EXPECT_EQ(response->body, "");

  // A small body behind a local answer is dropped and the connection goes on.
  ASSERT_TRUE(client.Send("POST /local HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"));
  response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("connection"), "<none>");
  ASSERT_TRUE(client.Send(Get("/local")));
  ASSERT_TRUE(client.Read().has_value());
  EXPECT_EQ(upstream_.connections(), 0);
}

TEST_F(HttpServerTest, RelaysHeadResponsesWithoutBody) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send("HEAD /page HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::optional<Response> response = client.Read(/*head_request=*/true);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->Header("content-length"), "<none>");
  ASSERT_TRUE(client.Send(Get("/after-head")));
  response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_NE(response->body.find("GET /after-head"), std::string::npos);
}

TEST_F(HttpServerTest, StreamsChunkedRequestBody) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(
      client.Send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(client.Send("1;name=value\r\n \r\n5\r\nworld\r\n0\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  std::string expected_hash = std::to_string(Fnv(kFnvStart, "hello world"));
  EXPECT_NE(response->body.find("body-bytes: 11\n"), std::string::npos) << response->body;
  EXPECT_NE(response->body.find("body-hash: " + expected_hash), std::string::npos);
  EXPECT_NE(response->body.find("Transfer-Encoding: chunked"), std::string::npos);
}

TEST_F(HttpServerTest, RelaysChunkedResponseWithTrailer) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/raw-chunked")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "hello world");
  EXPECT_EQ(response->Header("transfer-encoding"), "chunked");
  EXPECT_EQ(response->Header("x-checksum"), "42");  // The trailer, parsed as a field.
  ASSERT_TRUE(client.Send(Get("/next")));
  ASSERT_TRUE(client.Read().has_value());
}

TEST_F(HttpServerTest, RechunksBodyDelimitedByClose) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/until-close")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "until close body");
  EXPECT_EQ(response->Header("transfer-encoding"), "chunked");
  // The client connection is still good.
  ASSERT_TRUE(client.Send(Get("/next")));
  ASSERT_TRUE(client.Read().has_value());

  // An HTTP/1.0 client gets the body delimited by close instead.
  Client old(port_);
  ASSERT_TRUE(old.Send("GET /until-close HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"));
  response = old.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "until close body");
  EXPECT_EQ(response->Header("transfer-encoding"), "<none>");
  EXPECT_TRUE(old.Closed());
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  StartServer();
  Client plain(port_);
  ASSERT_TRUE(plain.Send("GET /x HTTP/1.0\r\n\r\n"));
  std::optional<Response> response = plain.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(plain.Closed());
  // Without Host the upstream still gets one.
  EXPECT_NE(upstream_.last_request().find("Host: 127.0.0.1:"), std::string::npos);

  Client keep(port_);
  ASSERT_TRUE(keep.Send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  response = keep.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->Header("connection"), "keep-alive");
  ASSERT_TRUE(keep.Send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(keep.Read().has_value());
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/one") + Get("/local") +
                          "POST /three HTTP/1.1\r\nHost: a\r\n"
                          "Content-Length: 3\r\n\r\nabc" +
                          Get("/four")));
  std::optional<Response> one = client.Read();
  std::optional<Response> two = client.Read();
  std::optional<Response> three = client.Read();
  std::optional<Response> four = client.Read();
  ASSERT_TRUE(one && two && three && four);
  EXPECT_NE(one->body.find("GET /one"), std::string::npos);
  EXPECT_EQ(two->body, "local body\n");
  EXPECT_NE(three->body.find("POST /three"), std::string::npos);
  EXPECT_NE(three->body.find("body-bytes: 3\n"), std::string::npos);
  EXPECT_NE(four->body.find("GET /four"), std::string::npos);
}

TEST_F(HttpServerTest, AnswersExpectContinue) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(
      client.Send("PUT /put HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                  "Content-Length: 5\r\n\r\n"));
  std::optional<Response> interim = client.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.Send("12345"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("body-bytes: 5\n"), std::string::npos);
  EXPECT_EQ(response->body.find("Expect"), std::string::npos);
}

TEST_F(HttpServerTest, SkipsInterimResponsesFromUpstream) {
  StartServer();
  std::optional<Response> response = RoundTrip(Get("/interim"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "final");
}

TEST_F(HttpServerTest, StreamsFiftyMegabyteUploadInBoundedMemory) {
  StartServer();
  Client client(port_, 30s);
  ASSERT_TRUE(client.Send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                          std::to_string(kBigBody) + "\r\n\r\n"));
  size_t before = ResidentBytes();
  std::string piece(256 * 1024, '\0');
  uint64_t hash = kFnvStart;
  for (uint64_t sent = 0; sent < kBigBody; sent += piece.size()) {
    for (size_t i = 0; i < piece.size(); ++i) piece[i] = PatternByte(sent + i);
    hash = Fnv(hash, piece);
    ASSERT_TRUE(client.Send(piece));
  }
  std::optional<Response> response = client.Read();
  size_t growth = ResidentBytes() - std::min(before, ResidentBytes());
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find("body-bytes: " + std::to_string(kBigBody) + "\n"),
            std::string::npos);
  EXPECT_NE(response->body.find("body-hash: " + std::to_string(hash) + "\n"), std::string::npos);
  EXPECT_LT(growth, 16u * 1024 * 1024) << "resident memory grew by " << growth;
}

TEST_F(HttpServerTest, StreamsFiftyMegabyteDownloadsInBoundedMemory) {
  StartServer();
  for (const char* chunked : {"0", "1"}) {
    Client client(port_, 30s);
    size_t before = ResidentBytes();
    ASSERT_TRUE(
        client.Send(Get("/download?bytes=" + std::to_string(kBigBody) + "&chunked=" + chunked)));
    std::optional<Response> response = client.Read(false, /*check_pattern=*/true);
    size_t growth = ResidentBytes() - std::min(before, ResidentBytes());
    ASSERT_TRUE(response.has_value()) << "chunked=" << chunked;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body_bytes, kBigBody);
    EXPECT_TRUE(response->body_ok);
    EXPECT_EQ(response->Count("transfer-encoding"), chunked[0] == '1' ? 1u : 0u);
    EXPECT_LT(growth, 16u * 1024 * 1024) << "resident memory grew by " << growth;
  }
}

TEST_F(HttpServerTest, TunnelsWebSocketEcho) {
  StartServer();
  asio::io_context ioc;
  std::vector<std::string> echoes;
  std::string error;
  int port = port_;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        websocket::stream<beast::tcp_stream> ws(ioc);
        auto [connect_error] = co_await beast::get_lowest_layer(ws).async_connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
            kUseTuple);
        if (connect_error) {
          error = "connect: " + connect_error.message();
          co_return;
        }
        auto [handshake_error] = co_await ws.async_handshake("shop.example", "/ws", kUseTuple);
        if (handshake_error) {
          error = "handshake: " + handshake_error.message();
          co_return;
        }
        for (std::string message :
             {std::string("hello"), std::string(100'000, 'x'), std::string("bye")}) {
          auto [write_error, n] = co_await ws.async_write(asio::buffer(message), kUseTuple);
          beast::flat_buffer buffer;
          auto [read_error, m] = co_await ws.async_read(buffer, kUseTuple);
          if (write_error || read_error) {
            error = "echo failed";
            co_return;
          }
          echoes.push_back(beast::buffers_to_string(buffer.data()));
        }
        auto [close_error] = co_await ws.async_close(websocket::close_code::normal, kUseTuple);
        if (close_error) error = "close: " + close_error.message();
      },
      asio::detached);
  ioc.run_for(20s);
  EXPECT_EQ(error, "");
  ASSERT_EQ(echoes.size(), 3u);
  EXPECT_EQ(echoes[0], "hello");
  EXPECT_EQ(echoes[1], std::string(100'000, 'x'));
  EXPECT_EQ(echoes[2], "bye");
  std::vector<SeenRequest> seen = handler_->seen();
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(seen[0].websocket);
  std::string head = upstream_.last_request();
  EXPECT_NE(head.find("Upgrade: websocket"), std::string::npos) << head;
}

struct MalformedCase {
  const char* name;
  std::string request;
  int status;
  const char* reason;
};

class MalformedRequestTest : public HttpServerTest,
                             public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(MalformedRequestTest, IsRefusedAndTheServerServesOn) {
  HttpServerOptions options;
  options.max_header_bytes = 4096;
  options.max_body_bytes = 1000;
  StartServer(options);
  Client client(port_);
  ASSERT_TRUE(client.Send(GetParam().request));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, GetParam().status);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.Closed());
  std::string metrics = metrics_.RenderPrometheusText();
  EXPECT_NE(metrics.find(std::string("anteroom_agent_bad_requests_total{reason=\"") +
                         GetParam().reason + "\"} 1"),
            std::string::npos)
      << metrics;
  // Other connections are served as before.
  std::optional<Response> good = RoundTrip(Get("/fine"));
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->status, 200);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedRequestTest,
    ::testing::Values(
        MalformedCase{"BadRequestLine", "GARBAGE\r\n\r\n", 400, "malformed"},
        MalformedCase{"BadVersion", "GET / HTTP/2.7\r\nHost: a\r\n\r\n", 400, "malformed"},
        MalformedCase{"BadField", "GET / HTTP/1.1\r\nHost a\r\n\r\n", 400, "malformed"},
        MalformedCase{"HugeHeader",
                      "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(8000, 'b') + "\r\n\r\n",
                      431, "header_too_large"},
        MalformedCase{"HugeUnterminatedHeader", "GET / HTTP/1.1\r\nX: " + std::string(8000, 'b'),
                      431, "header_too_large"},
        MalformedCase{"BadChunkSize",
                      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "zz\r\nhello\r\n0\r\n\r\n",
                      400, "malformed"},
        MalformedCase{"ContentLengthAndChunked",
                      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                      400, "malformed"},
        MalformedCase{"TwoContentLengths",
                      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      "Content-Length: 6\r\n\r\nhello!",
                      400, "malformed"},
        MalformedCase{"GzipTransferEncoding",
                      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxx", 501,
                      "unsupported_transfer_encoding"},
        MalformedCase{"BodyOverLimit",
                      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413,
                      "body_too_large"},
        MalformedCase{"Connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405,
                      "method_not_allowed"}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) { return info.param.name; });

TEST_F(HttpServerTest, ChunkedBodyOverLimitIsRefused) {
  HttpServerOptions options;
  options.max_body_bytes = 10;
  StartServer(options);
  Client client(port_);
  ASSERT_TRUE(
      client.Send("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(client.Send("10\r\n0123456789abcdef\r\n0\r\n\r\n"));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
}

TEST_F(HttpServerTest, UpstreamDownGives502AndTellsTheHandler) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/unreachable")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 502);
  EXPECT_EQ(handler_->failures(), 1);
  // The client connection survives a failed upstream.
  ASSERT_TRUE(client.Send(Get("/up")));
  response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(WaitForMetric("anteroom_agent_upstream_connect_failures_total 1"));
  EXPECT_TRUE(WaitForMetric("anteroom_agent_http_requests_total{code=\"5xx\"} 1"));
  EXPECT_TRUE(WaitForMetric("anteroom_agent_http_requests_total{code=\"2xx\"} 1"));
}

TEST_F(HttpServerTest, RefusedConnectionIsReroutedEvenForPost) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/reroute")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  // Nothing reached the dead origin, so a POST may move too.
  ASSERT_TRUE(
      client.Send("POST /reroute-post HTTP/1.1\r\nHost: shop\r\nContent-Length: 3\r\n\r\nabc"));
  response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  auto calls = handler_->reroute_calls();
  ASSERT_EQ(calls.size(), 2u);
  for (const auto& [why, may_retry] : calls) {
    EXPECT_EQ(why, RequestHandler::UpstreamFailureKind::kConnect);
    EXPECT_TRUE(may_retry);
  }
  EXPECT_EQ(handler_->failures(), 0);
  EXPECT_TRUE(WaitForMetric("anteroom_agent_upstream_retries_total 2"));
}

TEST_F(HttpServerTest, RerouteStopsAtTheAttemptLimit) {
  HttpServerOptions options;
  options.upstream_attempts = 1;
  StartServer(options);
  std::optional<Response> response = RoundTrip(Get("/reroute"));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 502);
  auto calls = handler_->reroute_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].second);
}

TEST_F(HttpServerTest, SlowUpstreamGives504) {
  HttpServerOptions options;
  options.upstream_timeout = 300ms;
  StartServer(options);
  auto start = std::chrono::steady_clock::now();
  std::optional<Response> response = RoundTrip(Get("/slow?ms=3000"));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 504);
  EXPECT_EQ(handler_->failures(), 1);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(HttpServerTest, UpstreamClosingPooledConnectionsNeverSurfaces) {
  StartServer();
  Client client(port_);
  // Each response claims keep-alive but the upstream closes right after it: the next request
  // meets a stale pooled connection, either already noticed or failing on reuse.
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.Send(Get("/close?i=" + std::to_string(i))));
    std::optional<Response> response = client.Read();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->status, 200) << i;
    if (i % 2 == 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(handler_->failures(), 0);
}

TEST_F(HttpServerTest, RetriesOnceWhenThePooledConnectionWasClosedUnnoticed) {
  // A raw upstream that answers one request per connection with keep-alive and then closes
  // without the proxy being able to notice before it reuses the connection: it reads the
  // next request and closes without answering.
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  int origin_port = acceptor.local_endpoint().port();
  std::atomic<int> accepted{0};
  std::thread origin([&] {
    for (int i = 0; i < 2; ++i) {
      beast::error_code ec;
      tcp::socket socket = acceptor.accept(ec);
      if (ec) return;
      ++accepted;
      beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> request;
      bhttp::read(socket, buffer, request, ec);
      if (ec) return;
      bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
      response.body() = "served " + std::to_string(i);
      response.prepare_payload();
      bhttp::write(socket, response, ec);
      if (i == 0) {
        // Wait for the next request, then drop it unanswered.
        bhttp::request<bhttp::string_body> next;
        bhttp::read(socket, buffer, next, ec);
      }
    }
  });
  struct Handler : RequestHandler {
    int port;
    std::atomic<int> failures{0};
    Decision Handle(const RequestView&) override {
      Decision decision;
      decision.upstream = {"127.0.0.1", static_cast<uint16_t>(port)};
      return decision;
    }
    std::vector<std::pair<std::string, std::string>> OnUpstreamResponse(Decision&, int,
                                                                        std::string_view,
                                                                        int64_t) override {
      return {};
    }
    bool Reroute(Decision&, UpstreamFailureKind, bool) override { return false; }
    void OnUpstreamFailure(const Decision&) override { ++failures; }
  } handler;
  handler.port = origin_port;
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.io_threads = 1;
  HttpServer server(options, handler, metrics_);
  int port = server.Start().value();
  Client client(port);
  ASSERT_TRUE(client.Send(Get("/a")));
  std::optional<Response> first = client.Read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->body, "served 0");
  ASSERT_TRUE(client.Send(Get("/b")));
  std::optional<Response> second = client.Read();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "served 1");
  EXPECT_EQ(handler.failures.load(), 0);
  EXPECT_EQ(accepted.load(), 2);
  EXPECT_NE(metrics_.RenderPrometheusText().find("anteroom_agent_upstream_retries_total 1"),
            std::string::npos);
  server.Stop(0ms);
  origin.join();
}

TEST_F(HttpServerTest, StopLetsTheRequestInFlightFinish) {
  StartServer();
  Client idle(port_);
  ASSERT_TRUE(idle.Send(Get("/local")));
  ASSERT_TRUE(idle.Read().has_value());
  // The server counts a request out only after writing its response: on a busy machine the
  // client can read it first, and the wait below would then see /local, not /slow.
  auto wait_start = std::chrono::steady_clock::now();
  while (server_->InFlight() != 0 && std::chrono::steady_clock::now() - wait_start < 5s) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(server_->InFlight(), 0u);

  std::optional<Response> slow;
  std::thread request([&] {
    Client client(port_);
    client.Send(Get("/slow?ms=500"));
    slow = client.Read();
  });
  wait_start = std::chrono::steady_clock::now();
  while (server_->InFlight() == 0 && std::chrono::steady_clock::now() - wait_start < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(server_->InFlight(), 1u);
  auto stop_start = std::chrono::steady_clock::now();
  server_->Stop(5s);
  auto stop_time = std::chrono::steady_clock::now() - stop_start;
  request.join();
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->status, 200);
  EXPECT_EQ(slow->Header("connection"), "close");
  EXPECT_LT(stop_time, 3s);
  EXPECT_EQ(server_->InFlight(), 0u);
  EXPECT_TRUE(idle.Closed());
  // Nothing listens any more.
  Client late(port_);
  EXPECT_FALSE(late.connected());
}

TEST_F(HttpServerTest, StopCutsRequestsThatOutliveTheGrace) {
  StartServer();
  std::optional<Response> slow;
  std::thread request([&] {
    Client client(port_);
    client.Send(Get("/slow?ms=5000"));
    slow = client.Read();
  });
  auto wait_start = std::chrono::steady_clock::now();
  while (server_->InFlight() == 0 && std::chrono::steady_clock::now() - wait_start < 5s) {
    std::this_thread::sleep_for(5ms);
  }
  auto stop_start = std::chrono::steady_clock::now();
  server_->Stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, 2s);
  request.join();
  EXPECT_FALSE(slow.has_value());
}

TEST_F(HttpServerTest, StopAcceptingKeepsServingOpenConnections) {
  StartServer();
  Client client(port_);
  ASSERT_TRUE(client.Send(Get("/a")));
  ASSERT_TRUE(client.Read().has_value());
  server_->StopAccepting();
  std::this_thread::sleep_for(50ms);
  Client late(port_);
  EXPECT_FALSE(late.connected());
  ASSERT_TRUE(client.Send(Get("/b")));
  std::optional<Response> response = client.Read();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, ClosesIdleConnectionsAfterTheIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = 200ms;
  StartServer(options);
  Client client(port_, 5s);
  ASSERT_TRUE(client.Send(Get("/local")));
  ASSERT_TRUE(client.Read().has_value());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.Closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpServerTest, ClosesConnectionsThatStallMidRequest) {
  HttpServerOptions options;
  options.read_timeout = 200ms;
  StartServer(options);
  Client client(port_, 5s);
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: a\r\n"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.Closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(HttpServerTest, ServesManyClientsOnSeveralThreads) {
  HttpServerOptions options;
  options.io_threads = 3;
  StartServer(options);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      Client client(port_);
      for (int i = 0; i < 50; ++i) {
        std::string target = (i % 5 == 0) ? "/local" : "/c" + std::to_string(c);
        if (!client.Send(Get(target))) return;
        std::optional<Response> response = client.Read();
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (std::thread& thread : clients) thread.join();
  EXPECT_EQ(ok.load(), 300);
  EXPECT_LE(upstream_.connections(), 6);
}

}  // namespace
}  // namespace anteroom::agent::http
