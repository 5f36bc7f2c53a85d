#pragma once

// One I/O thread of the HTTP server: its io_context, its connections and its upstream pool.
// Everything a worker owns is touched only from its thread, so the request path takes no
// locks; other threads reach it through Post.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "agent/http/asio_util.h"
#include "agent/http/http_metrics.h"
#include "agent/http/http_server.h"
#include "agent/http/upstream_pool.h"
#include "agent/request_handler.h"

namespace anteroom::agent::http {

// What every worker shares, read-only.
struct ServerContext {
  const HttpServerOptions& options;
  RequestHandler& handler;
  HttpMetrics& metrics;
};

// A client connection as its worker sees it: a deadline checked by the worker's ticker, and
// the hooks for drain and shutdown. Lives on its worker's thread.
class TrackedConnection {
 public:
  virtual ~TrackedConnection() = default;

  // The deadline passed (it is reset to "never" first).
  virtual void OnDeadline() = 0;
  // The server is draining: close the connection if it waits between requests.
  virtual void OnDrain() = 0;
  // The drain grace is over: close everything now.
  virtual void OnCut() = 0;

  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

 private:
  friend class Worker;
  TrackedConnection* prev_ = nullptr;
  TrackedConnection* next_ = nullptr;
};

class Worker {
 public:
  Worker(const ServerContext& context, size_t index);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  asio::io_context& ioc() { return ioc_; }
  const ServerContext& context() const { return context_; }
  UpstreamPool& pool() { return pool_; }
  size_t index() const { return index_; }

  // The time as of the last tick: deadlines need no more precision than the tick interval,
  // and reading it costs nothing.
  std::chrono::steady_clock::time_point Now() const { return now_; }

  bool draining() const { return draining_; }
  bool cut() const { return cut_; }

  // On the worker's thread.
  void Track(TrackedConnection* connection);
  void Untrack(TrackedConnection* connection);

  // Spawns the deadline ticker; call before Run.
  void Start();
  // Runs the io_context on the calling thread until the worker is cut and every connection
  // ended.
  void Run();

  // Thread-safe: queued to the worker's thread.
  void Drain();
  void Cut();
  void ForceStop() { ioc_.stop(); }

  // Thread-safe.
  int64_t InFlight() const { return in_flight_.load(std::memory_order_relaxed); }
  int64_t Connections() const { return connections_.load(std::memory_order_relaxed); }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

  // Counters written by the worker's thread only.
  void AddInFlight(int64_t delta) {
    in_flight_.store(in_flight_.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  void AddConnections(int64_t delta) {
    connections_.store(connections_.load(std::memory_order_relaxed) + delta,
                       std::memory_order_relaxed);
  }

 private:
  asio::awaitable<void> Tick();

  const ServerContext& context_;
  const size_t index_;
  const std::chrono::milliseconds tick_interval_;
  // Destroyed explicitly by ~Worker, after the ticker and the pool's sockets and before the
  // other members: destroying it destroys pending handlers and the coroutine frames they own,
  // which still touch the connection list.
  std::unique_ptr<asio::io_context> ioc_holder_ = std::make_unique<asio::io_context>(1);
  asio::io_context& ioc_ = *ioc_holder_;
  UpstreamPool pool_;
  std::optional<asio::steady_timer> ticker_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_prune_ = now_;
  TrackedConnection* connections_head_ = nullptr;
  bool draining_ = false;
  bool cut_ = false;
  std::atomic<bool> finished_{false};
  alignas(64) std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> connections_{0};
};

}  // namespace anteroom::agent::http
