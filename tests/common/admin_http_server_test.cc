#include "common/admin_http_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

namespace anteroom::common {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Request = AdminHttpServer::Request;
using Response = AdminHttpServer::Response;

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
};

// A real HTTP/1.1 exchange through Beast's synchronous client, on a fresh connection.
HttpResult Fetch(int port, http::verb method, const std::string& target) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> request{method, target, 11};
  request.set(http::field::host, "localhost");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  HttpResult result;
  result.status = response.result_int();
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  result.body = response.body();
  return result;
}

// Sends `bytes` on a plain socket and returns everything received until the server closes the
// connection (or 5 s pass, so a broken server fails the test instead of hanging it).
std::string RawExchange(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string received;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) received.append(buf, static_cast<size_t>(n));
  close(fd);
  return received;
}

class AdminHttpServerTest : public ::testing::Test {
 protected:
  // Starts a server on a free port with the test's readiness flag and registry.
  std::unique_ptr<AdminHttpServer> StartServer(AdminHttpServerOptions options = {}) {
    auto server = std::make_unique<AdminHttpServer>(std::move(options), registry_,
                                                    [this]() -> std::pair<bool, std::string> {
                                                      if (ready_) return {true, ""};
                                                      return {false, "loading rooms"};
                                                    });
    for (auto& [path, handler] : handlers_) server->Handle(path, handler);
    absl::StatusOr<int> port = server->Start();
    EXPECT_TRUE(port.ok()) << port.status();
    port_ = port.value_or(0);
    EXPECT_GT(port_, 0);
    return server;
  }

  MetricsRegistry registry_;
  std::atomic<bool> ready_{true};
  std::map<std::string, AdminHttpServer::Handler> handlers_;
  int port_ = 0;
};

TEST_F(AdminHttpServerTest, HealthzAnswersOk) {
  auto server = StartServer();
  HttpResult result = Fetch(port_, http::verb::get, "/healthz");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, "ok\n");
  EXPECT_EQ(result.headers["content-type"], "text/plain; charset=utf-8");
}

TEST_F(AdminHttpServerTest, ReadyzFollowsTheReadinessCallback) {
  auto server = StartServer();
  HttpResult ready = Fetch(port_, http::verb::get, "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "ready\n");

  ready_ = false;
  HttpResult not_ready = Fetch(port_, http::verb::get, "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "loading rooms\n");

  ready_ = true;
  EXPECT_EQ(Fetch(port_, http::verb::get, "/readyz").status, 200);
}

TEST_F(AdminHttpServerTest, WithoutReadinessCallbackAlwaysReady) {
  AdminHttpServer server({}, registry_, nullptr);
  absl::StatusOr<int> port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(Fetch(*port, http::verb::get, "/readyz").body, "ready\n");
}

TEST_F(AdminHttpServerTest, MetricsServesTheRegistry) {
  registry_.RegisterCounter("anteroom_test_requests_total", "Requests.", {{"code", "200"}})
      ->Increment(5);
  auto server = StartServer();
  HttpResult result = Fetch(port_, http::verb::get, "/metrics");
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(result.body,
            "# HELP anteroom_test_requests_total Requests.\n"
            "# TYPE anteroom_test_requests_total counter\n"
            "anteroom_test_requests_total{code=\"200\"} 5\n");
  registry_.RegisterCounter("anteroom_test_requests_total", "Requests.", {{"code", "200"}})
      ->Increment();
  EXPECT_THAT(Fetch(port_, http::verb::get, "/metrics?x=1").body,
              HasSubstr("anteroom_test_requests_total{code=\"200\"} 6\n"));
}

TEST_F(AdminHttpServerTest, UnknownPathIs404AndOtherMethodsAre405) {
  auto server = StartServer();
  EXPECT_EQ(Fetch(port_, http::verb::get, "/nope").status, 404);
  EXPECT_EQ(Fetch(port_, http::verb::get, "/healthz/").status, 404);
  HttpResult post = Fetch(port_, http::verb::post, "/healthz");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
  EXPECT_EQ(Fetch(port_, http::verb::delete_, "/metrics").status, 405);
}

TEST_F(AdminHttpServerTest, HeadSendsHeadersWithoutBody) {
  auto server = StartServer();
  std::string response =
      RawExchange(port_, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Length: 3\r\n"));
  EXPECT_EQ(response.substr(response.size() - 4), "\r\n\r\n");  // Nothing after the head.
}

TEST_F(AdminHttpServerTest, ExtraHandlersGetTheRequest) {
  handlers_["/debug/echo"] = [](const Request& request) {
    std::string agent;
    for (const auto& [name, value] : request.headers) {
      if (name == "User-Agent") agent = value;
    }
    return Response{201, "application/json",
                    "{\"method\":\"" + request.method + "\",\"target\":\"" + request.target +
                        "\",\"path\":\"" + request.path + "\",\"agent\":\"" + agent + "\"}"};
  };
  handlers_["/healthz"] = [](const Request&) { return Response{200, "text/plain", "custom\n"}; };
  auto server = StartServer();

  std::string response = RawExchange(port_,
                                     "GET /debug/echo?room=shop HTTP/1.1\r\nHost: x\r\n"
                                     "User-Agent: probe/1\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 201 Created\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(response, HasSubstr("{\"method\":\"GET\",\"target\":\"/debug/echo?room=shop\","
                                  "\"path\":\"/debug/echo\",\"agent\":\"probe/1\"}"));
  EXPECT_EQ(Fetch(port_, http::verb::get, "/healthz").body, "custom\n");
  EXPECT_EQ(Fetch(port_, http::verb::put, "/debug/echo").status, 405);
}

TEST_F(AdminHttpServerTest, ThrowingHandlerGets500AndServerContinues) {
  handlers_["/boom"] = [](const Request&) -> Response { throw std::runtime_error("boom"); };
  auto server = StartServer();
  HttpResult result = Fetch(port_, http::verb::get, "/boom");
  EXPECT_EQ(result.status, 500);
  EXPECT_EQ(Fetch(port_, http::verb::get, "/healthz").status, 200);
}

TEST_F(AdminHttpServerTest, MalformedRequestGets400AndNextConnectionIsServed) {
  auto server = StartServer();
  std::string response = RawExchange(port_, "GARBAGE\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));

  response = RawExchange(port_, "GET /healthz HTTP/9.9\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 400 Bad Request\r\n"));

  HttpResult next = Fetch(port_, http::verb::get, "/healthz");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "ok\n");
}

TEST_F(AdminHttpServerTest, OversizedHeadersGet431) {
  auto server = StartServer();
  std::string request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
  EXPECT_THAT(RawExchange(port_, request),
              StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  // Just under the limit is fine.
  request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + std::string(7000, 'a') +
      "\r\n\r\n";
  EXPECT_THAT(RawExchange(port_, request), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(AdminHttpServerTest, KeepsConnectionsAlive) {
  auto server = StartServer();
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  beast::flat_buffer buffer;
  for (const char* target : {"/healthz", "/readyz", "/healthz"}) {
    http::request<http::empty_body> request{http::verb::get, target, 11};
    http::write(stream, request);
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    EXPECT_EQ(response.result_int(), 200) << target;
    EXPECT_TRUE(response.keep_alive());
  }
  // Two pipelined requests in one write, the second asking to close.
  std::string both = RawExchange(port_,
                                 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(both, HasSubstr("\r\n\r\nok\nHTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(both, ::testing::EndsWith("\r\n\r\nready\n"));
}

TEST_F(AdminHttpServerTest, Http10ClosesAfterTheResponse) {
  auto server = StartServer();
  std::string response = RawExchange(port_, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_THAT(response, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(response, ::testing::EndsWith("\r\n\r\nok\n"));
}

TEST_F(AdminHttpServerTest, ClosesConnectionsThatSendNothing) {
  AdminHttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(200);
  auto server = StartServer(options);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RawExchange(port_, ""), "");  // Closed by the server, not by RawExchange's 5 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(Fetch(port_, http::verb::get, "/healthz").status, 200);
}

TEST_F(AdminHttpServerTest, StopClosesIdleConnectionsAndTheListener) {
  auto server = StartServer();
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  http::request<http::empty_body> request{http::verb::get, "/healthz", 11};
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  ASSERT_EQ(response.result_int(), 200);

  auto start = std::chrono::steady_clock::now();
  server->Stop();  // The kept-alive connection must not hold it up for the read timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  beast::error_code ec;
  http::response<http::string_body> none;
  http::read(stream, buffer, none, ec);
  EXPECT_EQ(ec, http::error::end_of_stream);
  server->Stop();  // Idempotent.

  asio::ip::tcp::socket socket(ioc);
  socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
  EXPECT_TRUE(ec) << "still listening";
}

TEST_F(AdminHttpServerTest, StartFailsWhenThePortIsInUse) {
  auto first = StartServer();
  AdminHttpServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(port_);
  AdminHttpServer second(options, registry_, nullptr);
  absl::StatusOr<int> port = second.Start();
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(port.status().message(), HasSubstr(options.listen));
  EXPECT_THAT(port.status().message(), HasSubstr("in use"));
  EXPECT_EQ(Fetch(port_, http::verb::get, "/healthz").status, 200);  // The first still serves.
}

TEST_F(AdminHttpServerTest, StartRejectsBadAddresses) {
  for (const std::string listen :
       {"nonsense", "127.0.0.1:99999", "127.0.0.1:http", "::1:80", "[::1", ":x"}) {
    AdminHttpServerOptions options;
    options.listen = listen;
    AdminHttpServer server(options, registry_, nullptr);
    absl::StatusOr<int> port = server.Start();
    ASSERT_FALSE(port.ok()) << listen;
    EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_THAT(port.status().message(), HasSubstr("'" + listen + "'"));
  }
}

TEST_F(AdminHttpServerTest, ResolvesHostNames) {
  AdminHttpServerOptions options;
  options.listen = "localhost:0";
  auto server = StartServer(options);
  EXPECT_EQ(Fetch(port_, http::verb::get, "/healthz").status, 200);
}

TEST_F(AdminHttpServerTest, StartTwiceFailsAndRestartAfterStopWorks) {
  auto server = StartServer();
  absl::StatusOr<int> again = server->Start();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  server->Stop();
  absl::StatusOr<int> restarted = server->Start();
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ(Fetch(*restarted, http::verb::get, "/healthz").status, 200);
}

TEST_F(AdminHttpServerTest, ListensOnIpv6Loopback) {
  AdminHttpServerOptions options;
  options.listen = "[::1]:0";
  AdminHttpServer server(options, registry_, nullptr);
  absl::StatusOr<int> port = server.Start();
  if (!port.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << port.status();
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("::1"), *port));
  http::request<http::empty_body> request{http::verb::get, "/healthz", 11};
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  EXPECT_EQ(response.body(), "ok\n");
}

TEST(AdminHttpServerRouteTest, DecidesWithoutSockets) {
  MetricsRegistry registry;
  registry.RegisterGauge("g", "G.")->Set(1);
  bool ready = false;
  AdminHttpServer server({}, registry, [&ready]() -> std::pair<bool, std::string> {
    return {ready, "warming up"};
  });
  auto route = [&server](std::string method, std::string path) {
    return server.Route(Request{method, path, path, {}});
  };
  EXPECT_EQ(route("GET", "/healthz").body, "ok\n");
  EXPECT_EQ(route("HEAD", "/healthz").status, 200);
  EXPECT_EQ(route("GET", "/readyz").status, 503);
  EXPECT_EQ(route("GET", "/readyz").body, "warming up\n");
  ready = true;
  EXPECT_EQ(route("GET", "/readyz").status, 200);
  EXPECT_EQ(route("GET", "/metrics").body, registry.RenderPrometheusText());
  EXPECT_EQ(route("GET", "/").status, 404);
  EXPECT_EQ(route("POST", "/").status, 404);
  EXPECT_EQ(route("POST", "/metrics").status, 405);
  EXPECT_EQ(route("OPTIONS", "/readyz").status, 405);
}

}  // namespace
}  // namespace anteroom::common
