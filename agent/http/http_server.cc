#include "agent/http/http_server.h"

#include "common/listen_address.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/http/asio_util.h"
#include "agent/http/http_metrics.h"
#include "agent/http/session.h"
#include "agent/http/worker.h"

namespace anteroom::agent::http {
namespace {

// After a failed accept (out of file descriptors), wait instead of spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// After the cut, how long the I/O threads get to unwind before their loops are stopped.
constexpr auto kUnwindTime = std::chrono::seconds(2);

void LogFailure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("agent http: connection failed: {}", e.what());
  } catch (...) {
    spdlog::error("agent http: connection failed");
  }
}

asio::awaitable<void> RunSession(Worker& worker, tcp::socket socket) {
  if (worker.cut()) co_return;
  Session session(worker, std::move(socket));
  co_await session.Run();
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, RequestHandler& handler, common::MetricsRegistry& registry)
      : options_(std::move(options)), metrics_(registry), context_{options_, handler, metrics_} {}

  ~Impl() { Stop(std::chrono::milliseconds(0)); }

  absl::StatusOr<int> Start() {
    absl::MutexLock lock(&mu_);
    if (started_) {
      return absl::FailedPreconditionError(
          absl::StrCat("agent server on '", options_.listen, "' already started"));
    }
    absl::StatusOr<tcp::endpoint> endpoint =
        common::ResolveListenAddress("agent listen address", options_.listen);
    if (!endpoint.ok()) return endpoint.status();

    size_t threads = options_.io_threads > 0
                         ? static_cast<size_t>(options_.io_threads)
                         : std::max<size_t>(1, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<Worker>> workers;
    for (size_t i = 0; i < threads; ++i) {
      workers.push_back(std::make_unique<Worker>(context_, i));
    }
    auto acceptor = std::make_unique<tcp::acceptor>(workers[0]->ioc());
    error_code ec;
    acceptor->open(endpoint->protocol(), ec);
    // Lets a restarted agent bind while old connections sit in TIME_WAIT.
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(*endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    int port = 0;
    if (!ec) port = acceptor->local_endpoint(ec).port();
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("agent cannot listen on '", options_.listen, "': ", ec.message()));
    }
    workers_ = std::move(workers);
    acceptor_ = std::move(acceptor);
    started_ = true;
    asio::co_spawn(workers_[0]->ioc(), Accept(), LogFailure);
    for (const std::unique_ptr<Worker>& worker : workers_) {
      worker->Start();
      threads_.emplace_back([w = worker.get()] { w->Run(); });
    }
    return port;
  }

  void StopAccepting() {
    absl::MutexLock lock(&mu_);
    StopAcceptingLocked();
  }

  void Stop(std::chrono::milliseconds grace) {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    StopAcceptingLocked();
    for (const std::unique_ptr<Worker>& worker : workers_) worker->Drain();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (InFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (const std::unique_ptr<Worker>& worker : workers_) worker->Cut();
    auto unwind_deadline = std::chrono::steady_clock::now() + kUnwindTime;
    for (const std::unique_ptr<Worker>& worker : workers_) {
      while (!worker->finished() && std::chrono::steady_clock::now() < unwind_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!worker->finished()) {
        spdlog::warn("agent http: I/O thread {} did not unwind in time; stopping it",
                     worker->index());
        worker->ForceStop();
      }
    }
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    // The acceptor belongs to the first worker's io_context: destroyed before it.
    acceptor_.reset();
    workers_.clear();
  }

  size_t InFlight() const {
    int64_t total = 0;
    for (const std::unique_ptr<Worker>& worker : workers_) total += worker->InFlight();
    return static_cast<size_t>(std::max<int64_t>(0, total));
  }

 private:
  void StopAcceptingLocked() {
    if (!started_ || accept_stopped_) return;
    accept_stopped_ = true;
    tcp::acceptor* acceptor = acceptor_.get();
    asio::post(workers_[0]->ioc(), [acceptor] {
      error_code ignored;
      acceptor->close(ignored);
    });
  }

  asio::awaitable<void> Accept() {
    size_t next = 0;
    for (;;) {
      Worker& worker = *workers_[next];
      next = (next + 1) % workers_.size();
      auto [ec, socket] = co_await acceptor_->async_accept(worker.ioc(), kUseTuple);
      if (!acceptor_->is_open() || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        spdlog::warn("agent http: accept failed: {}", ec.message());
        asio::steady_timer timer(workers_[0]->ioc(), kAcceptRetryDelay);
        co_await timer.async_wait(kUseTuple);
        continue;
      }
      asio::co_spawn(worker.ioc(), RunSession(worker, std::move(socket)), LogFailure);
    }
  }

  const HttpServerOptions options_;
  HttpMetrics metrics_;
  const ServerContext context_;
  // Guards the lifecycle (Start, StopAccepting, Stop), not the I/O.
  absl::Mutex mu_;
  bool started_ = false;
  bool accept_stopped_ = false;
  bool stopped_ = false;
  // Written by Start and Stop only, under mu_; the I/O threads read them while they run.
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
};

HttpServer::HttpServer(HttpServerOptions options, RequestHandler& handler,
                       common::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), handler, metrics)) {}

HttpServer::~HttpServer() = default;

absl::StatusOr<int> HttpServer::Start() { return impl_->Start(); }

void HttpServer::StopAccepting() { impl_->StopAccepting(); }

void HttpServer::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }

size_t HttpServer::InFlight() const { return impl_->InFlight(); }

}  // namespace anteroom::agent::http
