#include "common/admin_http_server.h"

#include "common/listen_address.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace anteroom::common {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using asio::ip::tcp;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Admin requests carry no body; this only bounds what a confused client can make us buffer.
constexpr size_t kMaxBodyBytes = 64 * 1024;
// After a failed accept (out of file descriptors), wait before trying again instead of
// spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

using Response = AdminHttpServer::Response;

Response Text(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body)};
}

void LogCoroutineFailure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("admin http: connection failed: {}", e.what());
  } catch (...) {
    spdlog::error("admin http: connection failed");
  }
}

}  // namespace

// Everything here runs on thread_, except construction, Bind and Stop's post and join; the
// single-threaded io_context is what serializes access to streams_ and stopping_.
class AdminHttpServer::Impl {
 public:
  explicit Impl(const AdminHttpServer& server) : server_(server), acceptor_(ioc_) {}

  ~Impl() { Stop(); }

  absl::StatusOr<int> Start(const std::string& listen) {
    absl::StatusOr<tcp::endpoint> endpoint = ResolveListenAddress("admin listen address", listen);
    if (!endpoint.ok()) return endpoint.status();
    boost::system::error_code ec;
    acceptor_.open(endpoint->protocol(), ec);
    // Lets a restarted daemon bind while old connections sit in TIME_WAIT; a live listener
    // on the port still makes bind fail.
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(*endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("admin server cannot listen on '", listen, "': ", ec.message()));
    }
    int port = acceptor_.local_endpoint(ec).port();
    asio::co_spawn(ioc_, Accept(), LogCoroutineFailure);
    thread_ = std::thread([this] { Run(); });
    return port;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    asio::post(ioc_, [this] {
      stopping_ = true;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      for (beast::tcp_stream* stream : streams_) stream->close();
    });
    thread_.join();
  }

 private:
  void Run() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        // Only a bug gets here (every operation reports errors as values); keep serving.
        spdlog::error("admin http: unexpected exception: {}", e.what());
      }
    }
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (stopping_ || !acceptor_.is_open()) co_return;
      if (ec) {
        spdlog::warn("admin http: accept failed: {}", ec.message());
        asio::steady_timer timer(ioc_, kAcceptRetryDelay);
        co_await timer.async_wait(kUseTuple);
        continue;
      }
      asio::co_spawn(ioc_, Serve(beast::tcp_stream(std::move(socket))), LogCoroutineFailure);
    }
  }

  // One connection: read a request, answer it, repeat while the client keeps it alive.
  asio::awaitable<void> Serve(beast::tcp_stream stream) {
    if (stopping_) co_return;
    streams_.insert(&stream);
    struct Untrack {
      std::set<beast::tcp_stream*>& streams;
      beast::tcp_stream* stream;
      ~Untrack() { streams.erase(stream); }
    } untrack{streams_, &stream};

    const AdminHttpServerOptions& options = server_.options_;
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
      parser.body_limit(kMaxBodyBytes);
      stream.expires_after(options.read_timeout);
      auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
      if (read_error) {
        int status = ErrorStatus(read_error);
        // Timeouts, resets and a clean end of stream get no answer.
        if (status != 0) {
          co_await Write(stream, Text(status, ErrorBody(status)), /*head=*/false,
                         /*keep_alive=*/false, 11);
        }
        break;
      }
      const http::request<http::string_body>& message = parser.get();
      Request request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      request.path = request.target.substr(0, request.target.find('?'));
      for (const auto& field : message) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      bool keep_alive = message.keep_alive();
      bool ok = co_await Write(stream, server_.Route(request), request.method == "HEAD", keep_alive,
                               message.version());
      if (!ok || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // The status for a request that failed to parse, or 0 when there is nobody to answer.
  static std::string ErrorBody(int status) {
    switch (status) {
      case 413:
        return "request body too large\n";
      case 431:
        return "request header fields too large\n";
      default:
        return "bad request\n";
    }
  }

  static int ErrorStatus(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) return 400;
    return 0;
  }

  asio::awaitable<bool> Write(beast::tcp_stream& stream, Response response, bool head,
                              bool keep_alive, unsigned version) {
    int status = response.status >= 100 && response.status <= 599 ? response.status : 500;
    http::response<http::string_body> message{static_cast<http::status>(status), version};
    message.set(http::field::content_type, response.content_type);
    message.set(http::field::cache_control, "no-store");
    if (status == 405) message.set(http::field::allow, "GET, HEAD");
    message.keep_alive(keep_alive);
    if (head) {
      message.content_length(response.body.size());  // What GET would send.
    } else {
      message.body() = std::move(response.body);
      message.prepare_payload();
    }
    stream.expires_after(server_.options_.read_timeout);
    auto [ec, bytes] = co_await http::async_write(stream, message, kUseTuple);
    co_return !ec;
  }

  const AdminHttpServer& server_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  bool stopping_ = false;
  std::set<beast::tcp_stream*> streams_;
};

AdminHttpServer::AdminHttpServer(AdminHttpServerOptions options, const MetricsRegistry& metrics,
                                 Readiness readiness)
    : options_(std::move(options)), metrics_(metrics), readiness_(std::move(readiness)) {}

AdminHttpServer::~AdminHttpServer() { Stop(); }

void AdminHttpServer::Handle(std::string path, Handler handler) {
  absl::MutexLock lock(&mu_);
  if (impl_ != nullptr) {
    spdlog::error("admin http: handler for {} added while running; ignored", path);
    return;
  }
  handlers_[std::move(path)] = std::move(handler);
}

absl::StatusOr<int> AdminHttpServer::Start() {
  absl::MutexLock lock(&mu_);
  if (impl_ != nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin server on '", options_.listen, "' already started"));
  }
  auto impl = std::make_unique<Impl>(*this);
  absl::StatusOr<int> port = impl->Start(options_.listen);
  if (port.ok()) impl_ = std::move(impl);
  return port;
}

void AdminHttpServer::Stop() {
  std::unique_ptr<Impl> impl;
  {
    absl::MutexLock lock(&mu_);
    impl = std::move(impl_);
  }
  if (impl != nullptr) impl->Stop();
}

AdminHttpServer::Response AdminHttpServer::Route(const Request& request) const {
  auto handler = handlers_.find(request.path);
  bool builtin =
      request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics";
  if (handler == handlers_.end() && !builtin) return Text(404, "not found\n");
  if (request.method != "GET" && request.method != "HEAD") {
    return Text(405, "method not allowed\n");
  }
  if (handler != handlers_.end()) {
    try {
      return handler->second(request);
    } catch (const std::exception& e) {
      spdlog::error("admin http: handler for {} threw: {}", request.path, e.what());
    } catch (...) {
      spdlog::error("admin http: handler for {} threw", request.path);
    }
    return Text(500, "internal error\n");
  }
  if (request.path == "/healthz") return Text(200, "ok\n");
  if (request.path == "/readyz") {
    if (!readiness_) return Text(200, "ready\n");
    std::pair<bool, std::string> ready{false, "readiness check failed"};
    try {
      ready = readiness_();
    } catch (const std::exception& e) {
      spdlog::error("admin http: readiness check threw: {}", e.what());
    }
    if (ready.first) return Text(200, "ready\n");
    return Text(503, ready.second + "\n");
  }
  return Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics_.RenderPrometheusText()};
}

}  // namespace anteroom::common
