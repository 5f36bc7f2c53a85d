#include "agent/http/worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <exception>

namespace anteroom::agent::http {
namespace {

// Deadlines are checked this often: a fraction of the shortest timeout, within bounds.
std::chrono::milliseconds TickInterval(const HttpServerOptions& options) {
  auto shortest = std::min({options.read_timeout, options.idle_timeout,
                            options.upstream_connect_timeout, options.upstream_timeout});
  return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
}

}  // namespace

Worker::Worker(const ServerContext& context, size_t index)
    : context_(context),
      index_(index),
      tick_interval_(TickInterval(context.options)),
      pool_(ioc_, std::max<size_t>(1, context.options.upstream_pool_size),
            context.options.idle_timeout),
      ticker_(std::in_place, ioc_) {}

Worker::~Worker() {
  ticker_.reset();
  pool_.CloseAll();
  ioc_holder_.reset();
}

void Worker::Track(TrackedConnection* connection) {
  connection->prev_ = nullptr;
  connection->next_ = connections_head_;
  if (connections_head_ != nullptr) connections_head_->prev_ = connection;
  connections_head_ = connection;
  AddConnections(1);
}

void Worker::Untrack(TrackedConnection* connection) {
  if (connection->prev_ != nullptr) {
    connection->prev_->next_ = connection->next_;
  } else if (connections_head_ == connection) {
    connections_head_ = connection->next_;
  }
  if (connection->next_ != nullptr) connection->next_->prev_ = connection->prev_;
  connection->prev_ = connection->next_ = nullptr;
  AddConnections(-1);
}

void Worker::Start() {
  asio::co_spawn(ioc_, Tick(), [](std::exception_ptr error) {
    if (error) spdlog::error("agent http: deadline ticker failed");
  });
}

void Worker::Run() {
  for (;;) {
    try {
      ioc_.run();
      break;
    } catch (const std::exception& e) {
      // Only a bug gets here: every operation reports errors as values.
      spdlog::error("agent http: unexpected exception on I/O thread {}: {}", index_, e.what());
    }
  }
  finished_.store(true, std::memory_order_release);
}

void Worker::Drain() {
  asio::post(ioc_, [this] {
    draining_ = true;
    pool_.CloseAll();
    for (TrackedConnection* c = connections_head_; c != nullptr;) {
      TrackedConnection* next = c->next_;
      c->OnDrain();
      c = next;
    }
  });
}

void Worker::Cut() {
  asio::post(ioc_, [this] {
    draining_ = true;
    cut_ = true;
    pool_.CloseAll();
    ticker_->cancel();
    for (TrackedConnection* c = connections_head_; c != nullptr;) {
      TrackedConnection* next = c->next_;
      c->OnCut();
      c = next;
    }
  });
}

asio::awaitable<void> Worker::Tick() {
  while (!cut_) {
    ticker_->expires_after(tick_interval_);
    co_await ticker_->async_wait(kUseTuple);
    if (cut_) break;
    now_ = std::chrono::steady_clock::now();
    for (TrackedConnection* c = connections_head_; c != nullptr;) {
      TrackedConnection* next = c->next_;
      if (c->deadline <= now_) {
        c->deadline = std::chrono::steady_clock::time_point::max();
        c->OnDeadline();
      }
      c = next;
    }
    if (now_ - last_prune_ >= std::chrono::seconds(1)) {
      last_prune_ = now_;
      pool_.Prune(now_);
    }
  }
}

}  // namespace anteroom::agent::http
