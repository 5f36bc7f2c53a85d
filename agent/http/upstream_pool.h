#pragma once

// Keep-alive connections to upstreams, owned by one I/O thread (so nothing here locks).
//
// A connection that sat idle for a while is checked before it is handed out (a peek: has the
// upstream closed it?). One reused within moments is not: under load that check would cost a
// system call per request, as would keeping a readiness wait armed on every idle connection.
// A stale connection can therefore still be handed out; the session retries once when it is.

#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/decision.h"
#include "agent/http/asio_util.h"

namespace anteroom::agent::http {

struct UpstreamConnection {
  explicit UpstreamConnection(const asio::any_io_executor& executor) : socket(executor) {}

  tcp::socket socket;
  boost::beast::flat_buffer buffer;  // Bytes read from the upstream and not yet relayed.
  bool reused = false;               // Came out of the pool (has served a request before).
  std::chrono::steady_clock::time_point idle_since;  // Pool bookkeeping.
};

// Not thread-safe: used from its I/O thread only.
class UpstreamPool {
 public:
  struct Target {
    std::string host;  // As in the Decision, brackets stripped from IPv6 literals.
    uint16_t port = 0;
    std::string authority;                                  // "host:port", for a missing Host.
    std::vector<tcp::endpoint> endpoints;                   // Empty until resolved.
    std::vector<std::unique_ptr<UpstreamConnection>> idle;  // Most recently used last.
  };

  // `max_idle_per_target` idle connections are kept per upstream; one idle for longer than
  // `max_idle_time` is closed by Prune.
  UpstreamPool(asio::io_context& ioc, size_t max_idle_per_target,
               std::chrono::milliseconds max_idle_time);
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;
  ~UpstreamPool();

  // The entry for `upstream`, created on first use. The reference stays valid for the pool's
  // lifetime.
  Target& Find(const Upstream& upstream);

  // The most recently used idle connection (marked reused) that still looks open, or nullptr
  // when there is none. `now` may be coarse.
  std::unique_ptr<UpstreamConnection> TakeIdle(Target& target,
                                               std::chrono::steady_clock::time_point now);

  // Gives back a connection that finished an exchange cleanly. REQUIRES: its buffer is empty.
  // Closed instead when the pool is full or closed.
  void Release(Target& target, std::unique_ptr<UpstreamConnection> connection,
               std::chrono::steady_clock::time_point now);

  // Fills target.endpoints: IP literals directly, names through the resolver (cached until
  // Forget). Returns the resolver's error.
  asio::awaitable<error_code> Resolve(Target& target);

  // Connecting to the cached endpoints failed: resolve again next time.
  void Forget(Target& target);

  // Closes connections idle for longer than the limit.
  void Prune(std::chrono::steady_clock::time_point now);

  // Closes every idle connection; later Releases close theirs too.
  void CloseAll();

  size_t IdleCount() const;

 private:
  static void DropOldest(Target& target);

  asio::io_context& ioc_;
  const size_t max_idle_per_target_;
  const std::chrono::milliseconds max_idle_time_;
  bool closed_ = false;
  std::vector<std::unique_ptr<Target>> targets_;  // Few: a linear scan beats hashing.
};

}  // namespace anteroom::agent::http
