#pragma once

// The agent's HTTP/1.1 front end, and the only part of the agent that includes Beast.
//
// For each client connection (one coroutine) it reads a request head within the limits below,
// shows it to the RequestHandler as a RequestView, and then either answers locally (kRespond)
// or relays the request to the decided upstream (kProxy) through a per-upstream keep-alive
// pool, streaming bodies both ways through the connections' read buffers (never a whole body
// in memory), and tunnelling WebSocket upgrades. Hop-by-hop fields follow RFC 9110 section
// 7.6.1; X-Forwarded-For is appended to, X-Forwarded-Proto and X-Forwarded-Host are set; the
// upstream's X-Anteroom-Command is handed to the handler and never reaches the client.
//
// Answers of its own: 400 malformed request (line, fields, framing, chunk sizes), 405 CONNECT,
// 413 body over max_body_bytes, 431 head over max_header_bytes, 501 a Transfer-Encoding other
// than chunked, 502 upstream unreachable or failing before its response head, 504 upstream
// connect or response timeout. Expect: 100-continue is answered by the proxy itself.
//
// Threading: io_threads I/O threads, each with its own io_context, connections and upstream
// pool (so the request path takes no locks); the acceptor runs on the first and hands each
// connection to the threads in turn.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/request_handler.h"
#include "common/metrics.h"

namespace anteroom::agent::http {

struct HttpServerOptions {
  // "host:port", "[v6]:port" or ":port" (every IPv4 interface); port 0 picks a free port.
  std::string listen = "0.0.0.0:8080";
  int io_threads = 0;  // 0: one per core.
  // Limit on a request line plus fields; 431 beyond.
  size_t max_header_bytes = 16 * 1024;
  // Limit on a request body; 413 beyond. 0: unlimited.
  uint64_t max_body_bytes = 0;
  // Longest silence from the client while a request is read or a response written.
  std::chrono::milliseconds read_timeout{30'000};
  // Longest wait for the next request on a keep-alive connection; also how long an upstream
  // connection may sit idle in the pool.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds upstream_connect_timeout{2'000};
  // Longest silence from the upstream (waiting for its response, or between body reads), and
  // from both sides of a WebSocket tunnel.
  std::chrono::milliseconds upstream_timeout{60'000};
  // Origins one request may try when the handler can reroute it (see RequestHandler::Reroute).
  int upstream_attempts = 3;
  // Idle keep-alive connections kept per upstream, per I/O thread.
  size_t upstream_pool_size = 128;
};

// Thread-safe: every method may be called from any thread except the server's I/O threads
// (from which Stop would deadlock). The handler and the metrics registry must outlive the
// server.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, RequestHandler& handler, common::MetricsRegistry& metrics);
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Stops with no grace when still running.
  ~HttpServer();

  // Binds, listens and starts the I/O threads. Returns the bound port.
  // Errors: InvalidArgument for an unparsable or unresolvable address, Unavailable when it
  // cannot be bound, FailedPrecondition when already started; each names the address.
  absl::StatusOr<int> Start();

  // Drain step 1: closes the listener; connections already accepted are served on.
  void StopAccepting();

  // Stops accepting, closes idle keep-alive connections at once, lets requests in flight
  // (WebSocket tunnels included) finish for up to `grace`, then closes everything and joins
  // the I/O threads. Idempotent.
  void Stop(std::chrono::milliseconds grace);

  // Requests between their head being read and their response finished, WebSocket tunnels
  // included.
  size_t InFlight() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace anteroom::agent::http
