#pragma once

// One client connection: a coroutine that reads a request head, asks the handler, answers or
// relays, and loops while the connection is kept alive. Runs on its worker's thread only.

#include <array>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decision.h"
#include "agent/http/asio_util.h"
#include "agent/http/header_rules.h"
#include "agent/http/message_parser.h"
#include "agent/http/upstream_pool.h"
#include "agent/http/worker.h"

namespace anteroom::agent::http {

class Session final : public TrackedConnection {
 public:
  // REQUIRES: `socket` belongs to worker.ioc().
  Session(Worker& worker, tcp::socket socket);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() override;

  // Serves the connection until it closes.
  asio::awaitable<void> Run();

  void OnDeadline() override;
  void OnDrain() override;
  void OnCut() override;

 private:
  // What the deadline guards, so that OnDeadline knows what to cancel.
  enum class Phase {
    kIdle,      // Waiting for the next request.
    kClient,    // Reading a request from, or writing a response to, the client.
    kUpstream,  // Connecting to or sending to the upstream, or waiting for its head.
    kRelay,     // Streaming a response body.
    kTunnel,    // WebSocket tunnel.
  };

  // What the session knows of the current request after its head.
  struct RequestFacts {
    bool head = false;  // HEAD: the response has no body.
    bool http10 = false;
    bool keep_alive = true;
    bool chunked = false;
    bool websocket = false;
    bool expect_continue = false;
    bool retryable = false;  // Idempotent method or Idempotency-Key.
  };

  // A head's fate.
  struct HeadRead {
    enum Status { kOk, kClosed, kRefused } status = kClosed;
    size_t length = 0;  // kOk: bytes of the head at the front of the buffer.
    int refusal_status = 400;
    BadRequestReason refusal_reason = BadRequestReason::kMalformed;

    static HeadRead Refused(int status, BadRequestReason reason) {
      return HeadRead{kRefused, 0, status, reason};
    }
  };

  enum class StreamResult { kDone, kReadFailed, kParseFailed, kWriteFailed };

  // Where a relay's chunked framing lives while its write is pending.
  struct FrameScratch {
    std::array<char, 24> chunk_header{};
    std::string last_chunk;
  };

  void Arm(Phase phase, std::chrono::milliseconds timeout);

  // A fresh parser for the next request.
  void StartRequest();
  // Parses the request head once buffer_ holds all of it: true with the result (kOk or
  // kRefused), false while more input is needed. `scanned` carries progress across calls.
  bool ParseRequestHead(size_t& scanned, HeadRead& result);
  // What to do with the request whose head was parsed: the handler's decision, without I/O.
  // kRefused for requests the proxy does not take, kClosed when the handler threw.
  HeadRead Decide(Decision& decision, RequestFacts& facts, int budget_holds = 0);
  // One request, answered or relayed; each returns whether the connection can go on.
  asio::awaitable<bool> Respond(const Decision& decision, const RequestFacts& facts,
                                size_t head_length);
  asio::awaitable<bool> Proxy(Decision& decision, const RequestFacts& facts, size_t head_length);
  // Relays the response whose head ReadResponseHead read.
  asio::awaitable<bool> ProxyResponse(Decision& decision, const RequestFacts& facts,
                                      UpstreamPool::Target& target, size_t head_length,
                                      bool request_sent, int64_t latency_us);
  // Tells the handler an exchange failed; true when it moved `decision` to another origin.
  bool Reroute(Decision& decision, RequestHandler::UpstreamFailureKind why, bool may_retry);
  // Relays both ways until either side closes; also ends once `origin` (when given) is
  // marked down, so that the client reconnects to a live one.
  asio::awaitable<void> Tunnel(const OriginState* origin);
  asio::awaitable<void> WatchOrigin(const OriginState& origin);
  // One direction of a tunnel.
  asio::awaitable<void> Pump(tcp::socket& from, tcp::socket& to);
  // Opens a fresh upstream connection into upstream_; false on failure (timed_out_ tells
  // which).
  asio::awaitable<bool> Connect(UpstreamPool::Target& target);
  void StartResponse(bool head_request);
  // As ParseRequestHead, for the upstream's final response head (interim 1xx responses other
  // than 101 are skipped). kRefused for a malformed head.
  bool ParseResponseHead(size_t& scanned, bool head_request, HeadRead& result);
  // Answers a request that failed before it reached the handler, and closes.
  asio::awaitable<void> Refuse(int status, BadRequestReason reason);
  asio::awaitable<bool> UpstreamFailed(const Decision& decision, const RequestFacts& facts,
                                       int status);
  asio::awaitable<bool> WriteLocal(int status, std::string_view body, bool keep_alive, bool http10,
                                   bool head);
  // Reads and drops the rest of the request body (bounded by the caller).
  asio::awaitable<bool> DiscardBody();
  asio::awaitable<void> LingeringClose();

  // Parses what `buffer` holds of a body into gather_ (after `prefix`, with the framing);
  // `consumed` is what to drop from `buffer` once gather_ is written. False on a parse error
  // (stream_error_ says which).
  template <bool isRequest>
  bool FillBatch(boost::beast::flat_buffer& buffer, MessageParser<isRequest>& parser,
                 BodyBatch& body, bool chunked_out, std::string_view prefix, FrameScratch& scratch,
                 size_t& consumed);
  // Streams the rest of a body from `from` to `to` (re-framed as chunked when `chunked_out`),
  // reading and writing batch by batch.
  template <bool isRequest>
  asio::awaitable<StreamResult> StreamBody(tcp::socket& from, boost::beast::flat_buffer& buffer,
                                           MessageParser<isRequest>& parser, BodyBatch& body,
                                           tcp::socket& to, bool chunked_out,
                                           std::chrono::milliseconds read_timeout,
                                           std::chrono::milliseconds write_timeout,
                                           FrameScratch& scratch);
  // Appends `body` to gather_ with the framing.
  void Frame(const BodyBatch& body, bool chunked, bool last, FrameScratch& scratch);

  void CloseUpstream();
  std::optional<std::string_view> LookupHeader(std::string_view name) const;

  Worker& worker_;
  const ServerContext& context_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::string client_ip_;
  std::function<std::optional<std::string_view>(std::string_view)> header_lookup_;

  Phase phase_ = Phase::kIdle;
  bool timed_out_ = false;  // The deadline of the current phase passed.
  bool closing_ = false;    // Drained or cut: serve nothing more.
  int status_sent_ = 0;
  error_code stream_error_;  // Why StreamBody returned kParseFailed.

  // The current request: its head is views into buffer_.
  MessageHead request_head_;
  BodyBatch request_body_;
  std::optional<RequestParser> request_parser_;
  std::string host_storage_;
  std::string cookie_storage_;

  // The current upstream exchange.
  std::unique_ptr<UpstreamConnection> upstream_;
  MessageHead response_head_;
  BodyBatch response_body_;
  std::optional<ResponseParser> response_parser_;

  // Output heads and the scatter/gather list of the write in progress, reused across
  // requests so a steady stream of requests allocates nothing.
  std::string upstream_head_;
  std::string client_head_;
  std::vector<asio::const_buffer> gather_;
  std::vector<asio::const_buffer> first_send_;
  FrameScratch request_scratch_;
  FrameScratch response_scratch_;
};

}  // namespace anteroom::agent::http
