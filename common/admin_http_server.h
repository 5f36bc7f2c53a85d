#pragma once

// The admin HTTP/1.1 endpoint of each daemon: /healthz, /readyz, /metrics and any extra GET
// handlers the daemon adds. It runs on its own thread so a busy request path cannot starve a
// liveness probe.
//
//   GET /healthz  200 "ok\n" while the process serves at all.
//   GET /readyz   200 "ready\n", or 503 "<reason>\n" while the readiness callback says no.
//   GET /metrics  200, text/plain; version=0.0.4, the registry's RenderPrometheusText().
// HEAD is answered like GET without the body. An unknown path gets 404; a known path with
// another method 405; a request that does not parse 400 and the connection is closed; headers
// over the limit 431. Connections are kept alive as HTTP/1.1 allows; a connection idle for
// longer than the read timeout is closed.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"

namespace anteroom::common {

struct AdminHttpServerOptions {
  // "host:port" with an IP literal ("[::1]:7401" for IPv6) or a name to resolve; an empty
  // host (":7401") means every IPv4 interface; port 0 picks a free port (Start returns it).
  std::string listen = "127.0.0.1:0";
  // Longest wait for a request's head and body, and for writing a response.
  std::chrono::milliseconds read_timeout{10'000};
  // Limit on the request line plus headers.
  size_t max_header_bytes = 8 * 1024;
};

// Thread-safe: Start and Stop may be called from any thread (not from a handler). Handle
// must be called while the server is not running. Start after Stop serves again.
class AdminHttpServer {
 public:
  struct Request {
    std::string method;                                        // "GET", "HEAD".
    std::string target;                                        // As sent: path and query.
    std::string path;                                          // `target` without the query.
    std::vector<std::pair<std::string, std::string>> headers;  // In order, names as sent.
  };
  struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  using Handler = std::function<Response(const Request&)>;
  // (ready, reason when not).
  using Readiness = std::function<std::pair<bool, std::string>()>;

  // `metrics` must outlive the server. `readiness` (may be empty: always ready), the extra
  // handlers and the metrics callbacks run on the server's thread and must be thread-safe.
  AdminHttpServer(AdminHttpServerOptions options, const MetricsRegistry& metrics,
                  Readiness readiness);
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;
  // Calls Stop.
  ~AdminHttpServer();

  // Answers GET and HEAD for `path` (exact match, query ignored) with `handler`; replaces a
  // built-in route of the same path. A handler that throws gets a 500.
  // REQUIRES: the server is not running (a call while it runs is logged and ignored).
  void Handle(std::string path, Handler handler);

  // Binds, listens and starts serving on a new thread. Returns the bound port.
  // Errors: InvalidArgument for an unparsable or unresolvable address, Unavailable when the
  // address cannot be bound (in use, not local), FailedPrecondition while already running;
  // all name the address. After an error nothing runs and Start may be tried again.
  absl::StatusOr<int> Start();

  // Closes the listener and every connection and joins the thread. Idempotent.
  // REQUIRES: not called from a handler or callback of this server.
  void Stop();

  // The routing decision for one request, without I/O; what the server sends (for HEAD,
  // without the body). Public for tests.
  Response Route(const Request& request) const;

 private:
  class Impl;  // The Asio and Beast side: listener, thread, connections.

  const AdminHttpServerOptions options_;
  const MetricsRegistry& metrics_;
  const Readiness readiness_;
  // Written under mu_ before Start only, then read by the server thread without locking.
  std::map<std::string, Handler, std::less<>> handlers_;
  absl::Mutex mu_;
  std::unique_ptr<Impl> impl_ ABSL_GUARDED_BY(mu_);  // Non-null while running.
};

}  // namespace anteroom::common
