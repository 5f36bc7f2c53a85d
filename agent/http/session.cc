#include "agent/http/session.h"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/error.hpp>
#include <exception>
#include <limits>
#include <utility>

namespace anteroom::agent::http {
namespace {

namespace beast = boost::beast;

using std::chrono::milliseconds;

// Bytes asked of a socket per read.
constexpr size_t kReadSize = 16 * 1024;
// A relay keeps at most this much unparsed input (an endless chunk-size line or trailer).
constexpr size_t kMaxPendingBytes = 64 * 1024;
constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;
// A body behind a local answer is read and dropped up to this size; beyond, the connection
// closes instead.
constexpr uint64_t kDiscardLimit = 64 * 1024;
// Closing with unread input resets the connection, which can destroy the response in flight;
// so before closing, read and drop what the client still sends, within these bounds.
constexpr size_t kLingerBytes = 1 << 20;
constexpr milliseconds kLingerTime{2'000};
constexpr size_t kTunnelBufferBytes = 16 * 1024;
// How often a WebSocket tunnel checks that its origin is still up.
constexpr std::chrono::milliseconds kTunnelOriginCheck{500};
// However often a handler asks to hold one request, it is asked for an answer after this many.
constexpr int kMaxBudgetHolds = 8;

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

const HeaderList kNoHeaders;

std::string PeerAddress(const tcp::socket& socket) {
  error_code ec;
  tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return "";
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

int StatusFor(const error_code& ec, BadRequestReason* reason) {
  if (ec == bhttp::error::header_limit) {
    *reason = BadRequestReason::kHeaderTooLarge;
    return 431;
  }
  if (ec == bhttp::error::body_limit) {
    *reason = BadRequestReason::kBodyTooLarge;
    return 413;
  }
  *reason = BadRequestReason::kMalformed;
  return 400;
}

std::string_view RefusalBody(int status) {
  switch (status) {
    case 405:
      return "method not allowed\n";
    case 413:
      return "request body too large\n";
    case 431:
      return "request header fields too large\n";
    case 501:
      return "transfer encoding not implemented\n";
    default:
      return "bad request\n";
  }
}

std::string_view BufferView(const boost::beast::flat_buffer& buffer) {
  return std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size());
}

// Where the head ends ("\r\n\r\n" included) in `data`, searching from `scanned` - 3; npos
// while incomplete.
size_t HeadEnd(std::string_view data, size_t scanned) {
  size_t end = data.find("\r\n\r\n", scanned > 3 ? scanned - 3 : 0);
  return end == std::string_view::npos ? end : end + 4;
}

}  // namespace

Session::Session(Worker& worker, tcp::socket socket)
    : worker_(worker), context_(worker.context()), socket_(std::move(socket)) {
  header_lookup_ = [this](std::string_view name) { return LookupHeader(name); };
  worker_.Track(this);
  context_.metrics.connections->Add(1);
}

Session::~Session() {
  CloseUpstream();
  context_.metrics.connections->Sub(1);
  worker_.Untrack(this);
}

void Session::Arm(Phase phase, milliseconds timeout) {
  phase_ = phase;
  timed_out_ = false;
  deadline = worker_.Now() + timeout;
}

void Session::OnDeadline() {
  timed_out_ = true;
  error_code ignored;
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kClient:
      socket_.cancel(ignored);
      break;
    case Phase::kUpstream:
      if (upstream_ != nullptr) upstream_->socket.close(ignored);
      break;
    case Phase::kRelay:
    case Phase::kTunnel:
      socket_.cancel(ignored);
      if (upstream_ != nullptr) upstream_->socket.close(ignored);
      break;
  }
}

void Session::OnDrain() {
  closing_ = true;
  if (phase_ == Phase::kIdle) {
    error_code ignored;
    socket_.cancel(ignored);
  }
}

void Session::OnCut() {
  closing_ = true;
  timed_out_ = true;
  error_code ignored;
  // Closed rather than cancelled: nothing more is written, not even a 502.
  socket_.close(ignored);
  if (upstream_ != nullptr) upstream_->socket.close(ignored);
}

void Session::CloseUpstream() {
  if (upstream_ == nullptr) return;
  error_code ignored;
  upstream_->socket.close(ignored);
  upstream_.reset();
}

std::optional<std::string_view> Session::LookupHeader(std::string_view name) const {
  if (const Field* field = FindField(request_head_.fields, name)) return field->value;
  return std::nullopt;
}

asio::awaitable<void> Session::Run() {
  const HttpServerOptions& options = context_.options;
  error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
  client_ip_ = PeerAddress(socket_);
  HttpMetrics& metrics = context_.metrics;
  bool linger = false;
  while (!closing_ && !worker_.cut()) {
    // The head, read inline: the hot path nests as few coroutine frames as it can.
    StartRequest();
    size_t scanned = 0;
    HeadRead head;
    while (!ParseRequestHead(scanned, head)) {
      if (closing_) break;
      bool idle = buffer_.size() == 0;
      Arm(idle ? Phase::kIdle : Phase::kClient, idle ? options.idle_timeout : options.read_timeout);
      auto [read_error, n] =
          co_await socket_.async_read_some(buffer_.prepare(kReadSize), kUseTuple);
      // End of stream, reset, timeout or drain: nobody to answer.
      if (read_error) break;
      buffer_.commit(n);
    }
    if (head.status == HeadRead::kRefused) {
      co_await Refuse(head.refusal_status, head.refusal_reason);
      linger = true;
      break;
    }
    if (head.status != HeadRead::kOk) break;

    worker_.AddInFlight(1);
    auto start = std::chrono::steady_clock::now();
    status_sent_ = 0;
    Decision decision;
    RequestFacts facts;
    HeadRead verdict = Decide(decision, facts);
    // The handler expects what this request needs shortly: ask again then. A draining agent
    // asks at once for a final answer (an absurd hold count).
    for (int holds = 1; verdict.status == HeadRead::kOk && decision.hold_ms > 0; ++holds) {
      const bool last = worker_.draining() || holds > kMaxBudgetHolds;
      if (!last) {
        asio::steady_timer timer(socket_.get_executor());
        timer.expires_after(std::chrono::milliseconds(std::min<int64_t>(decision.hold_ms, 1000)));
        co_await timer.async_wait(kUseTuple);
      }
      decision = Decision{};
      facts = RequestFacts{};
      verdict = Decide(decision, facts, last ? std::numeric_limits<int>::max() : holds);
      if (last) break;
    }
    bool keep_alive = false;
    if (verdict.status == HeadRead::kRefused) {
      co_await Refuse(verdict.refusal_status, verdict.refusal_reason);
    } else if (verdict.status != HeadRead::kOk) {
      buffer_.consume(head.length);
      co_await WriteLocal(500, "internal error\n", false, facts.http10, facts.head);
    } else if (decision.kind == Decision::Kind::kRespond) {
      keep_alive = co_await Respond(decision, facts, head.length);
    } else {
      keep_alive = co_await Proxy(decision, facts, head.length);
    }
    worker_.AddInFlight(-1);
    if (status_sent_ != 0) {
      metrics.CountResponse(status_sent_);
      metrics.request_duration->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (!keep_alive) {
      linger = socket_.is_open();
      break;
    }
  }
  if (linger && !closing_) co_await LingeringClose();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void Session::StartRequest() {
  const HttpServerOptions& options = context_.options;
  request_parser_.emplace(request_head_, request_body_);
  RequestParser& parser = *request_parser_;
  parser.header_limit(static_cast<uint32_t>(
      std::min<size_t>(options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
  if (options.max_body_bytes > 0) {
    parser.body_limit(options.max_body_bytes);
  } else {
    parser.body_limit(boost::none);
  }
}

bool Session::ParseRequestHead(size_t& scanned, HeadRead& result) {
  if (buffer_.size() == 0) return false;
  std::string_view data = BufferView(buffer_);
  // Empty lines before a request line are ignored (RFC 9112 section 2.2).
  while (data.starts_with(kCrlf)) {
    buffer_.consume(2);
    data.remove_prefix(2);
    scanned = 0;
  }
  size_t end = HeadEnd(data, scanned);
  if (end == std::string_view::npos) {
    scanned = data.size();
    if (data.size() < context_.options.max_header_bytes) return false;
    result = HeadRead::Refused(431, BadRequestReason::kHeaderTooLarge);
    return true;
  }
  RequestParser& parser = *request_parser_;
  error_code ec;
  size_t length = parser.put(asio::buffer(data.data(), end), ec);
  if (!ec && !parser.is_header_done()) ec = bhttp::error::partial_message;
  if (ec) {
    BadRequestReason reason;
    int status = StatusFor(ec, &reason);
    result = HeadRead::Refused(status, reason);
    return true;
  }
  parser.eager(true);
  result = HeadRead{HeadRead::kOk, length};
  return true;
}

Session::HeadRead Session::Decide(Decision& decision, RequestFacts& facts, int budget_holds) {
  RequestParser& parser = *request_parser_;
  const MessageHead& head = request_head_;
  if (!TransferEncodingSupported(head.fields)) {
    return HeadRead::Refused(501, BadRequestReason::kUnsupportedEncoding);
  }
  if (head.method == bhttp::verb::connect) {
    return HeadRead::Refused(405, BadRequestReason::kMethodNotAllowed);
  }
  facts.head = head.method == bhttp::verb::head;
  facts.http10 = head.version == 10;
  facts.keep_alive = parser.keep_alive();
  facts.chunked = parser.chunked();
  facts.websocket = head.method == bhttp::verb::get && parser.upgrade() &&
                    AnyFieldHasToken(head.fields, bhttp::field::upgrade, "websocket");
  facts.expect_continue =
      !facts.http10 && AnyFieldHasToken(head.fields, bhttp::field::expect, "100-continue");
  facts.retryable =
      IsIdempotent(head.method) || FindField(head.fields, "Idempotency-Key") != nullptr;

  RequestView view;
  view.method = head.method_string;
  view.target = head.target;
  view.path = head.target.substr(0, head.target.find('?'));
  const Field* cookie = nullptr;
  int cookies = 0;
  for (const Field& field : head.fields) {
    switch (field.id) {
      case bhttp::field::host:
        if (view.host.empty()) view.host = NormalizeHost(field.value, host_storage_);
        break;
      case bhttp::field::cookie:
        if (cookies++ == 0) cookie = &field;
        break;
      case bhttp::field::accept:
        if (view.accept.empty()) view.accept = field.value;
        break;
      case bhttp::field::accept_language:
        if (view.accept_language.empty()) view.accept_language = field.value;
        break;
      default:
        break;
    }
  }
  if (cookies == 1) {
    view.cookie = cookie->value;
  } else if (cookies > 1) {
    cookie_storage_.clear();
    for (const Field& field : head.fields) {
      if (field.id != bhttp::field::cookie) continue;
      if (!cookie_storage_.empty()) cookie_storage_.append("; ");
      cookie_storage_.append(field.value);
    }
    view.cookie = cookie_storage_;
  }
  view.client_ip = client_ip_;
  view.websocket_upgrade = facts.websocket;
  view.budget_holds = budget_holds;
  view.header = header_lookup_;

  try {
    decision = context_.handler.Handle(view);
  } catch (const std::exception& e) {
    spdlog::error("agent http: request handler threw: {}", e.what());
    return HeadRead{HeadRead::kClosed};
  }
  return HeadRead{HeadRead::kOk};
}

asio::awaitable<bool> Session::Respond(const Decision& decision, const RequestFacts& facts,
                                       size_t head_length) {
  RequestParser& parser = *request_parser_;
  bool keep_alive = facts.keep_alive && !worker_.draining();
  bool discard = false;
  if (!parser.is_done()) {
    // A body behind a local answer: drop it when small, else close after answering.
    boost::optional<uint64_t> length = parser.content_length();
    discard = keep_alive && !facts.expect_continue && length && *length <= kDiscardLimit;
    keep_alive = discard;
  }
  int status = decision.status >= 100 && decision.status <= 599 ? decision.status : 500;
  AppendLocalResponseHead(status, decision.content_type, decision.body.size(), decision.headers,
                          keep_alive, facts.http10, client_head_);
  buffer_.consume(head_length);
  gather_.clear();
  gather_.push_back(asio::buffer(client_head_));
  if (!facts.head && !decision.body.empty()) gather_.push_back(asio::buffer(decision.body));
  Arm(Phase::kClient, context_.options.read_timeout);
  error_code ec;
  if (!TryWrite(socket_, gather_, ec)) ec = co_await WriteRest(socket_, gather_);
  status_sent_ = status;
  if (ec) co_return false;
  if (discard) co_return co_await DiscardBody();
  co_return keep_alive;
}

asio::awaitable<bool> Session::DiscardBody() {
  RequestParser& parser = *request_parser_;
  for (;;) {
    if (buffer_.size() > 0) {
      request_body_.Clear();
      error_code ec;
      size_t n = parser.put(buffer_.data(), ec);
      if (ec == bhttp::error::need_more) ec = {};
      if (ec) co_return false;
      buffer_.consume(n);
    }
    if (parser.is_done()) co_return true;
    Arm(Phase::kClient, context_.options.read_timeout);
    auto [ec, n] = co_await socket_.async_read_some(buffer_.prepare(kReadSize), kUseTuple);
    if (ec) co_return false;
    buffer_.commit(n);
  }
}

asio::awaitable<bool> Session::WriteLocal(int status, std::string_view body, bool keep_alive,
                                          bool http10, bool head) {
  keep_alive = keep_alive && !worker_.draining();
  AppendLocalResponseHead(status, kTextPlain, body.size(), kNoHeaders, keep_alive, http10,
                          client_head_);
  gather_.clear();
  gather_.push_back(asio::buffer(client_head_));
  if (!head) gather_.push_back(asio::buffer(body));
  Arm(Phase::kClient, context_.options.read_timeout);
  error_code ec = co_await WriteAll(socket_, gather_);
  status_sent_ = status;
  co_return !ec && keep_alive;
}

asio::awaitable<void> Session::Refuse(int status, BadRequestReason reason) {
  context_.metrics.bad_requests[static_cast<size_t>(reason)]->Increment();
  co_await WriteLocal(status, RefusalBody(status), false, false, false);
}

asio::awaitable<bool> Session::UpstreamFailed(const Decision& decision, const RequestFacts& facts,
                                              int status) {
  try {
    context_.handler.OnUpstreamFailure(decision);
  } catch (const std::exception& e) {
    spdlog::error("agent http: OnUpstreamFailure threw: {}", e.what());
  }
  // The connection can go on only if the request was read to its end.
  bool keep_alive = facts.keep_alive && request_parser_->is_done();
  co_return co_await WriteLocal(status,
                                status == 504 ? "upstream timed out\n" : "upstream unavailable\n",
                                keep_alive, facts.http10, facts.head);
}

asio::awaitable<void> Session::LingeringClose() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  Arm(Phase::kClient, std::min(context_.options.read_timeout, kLingerTime));
  size_t total = 0;
  while (total < kLingerBytes && !closing_) {
    buffer_.consume(buffer_.size());
    auto [read_error, n] = co_await socket_.async_read_some(buffer_.prepare(kReadSize), kUseTuple);
    if (read_error) break;
    total += n;
  }
}

void Session::Frame(const BodyBatch& body, bool chunked, bool last, FrameScratch& scratch) {
  if (body.bytes > 0) {
    if (chunked) gather_.push_back(asio::buffer(ChunkHeader(body.bytes, scratch.chunk_header)));
    gather_.insert(gather_.end(), body.slices.begin(), body.slices.end());
    if (chunked) gather_.push_back(asio::buffer(kCrlf));
  }
  if (!last || !chunked) return;
  if (body.trailers.empty()) {
    gather_.push_back(asio::buffer(kLastChunk));
    return;
  }
  scratch.last_chunk.assign("0\r\n");
  for (const Field& field : body.trailers) {
    scratch.last_chunk.append(field.name);
    scratch.last_chunk.append(": ");
    scratch.last_chunk.append(field.value);
    scratch.last_chunk.append(kCrlf);
  }
  scratch.last_chunk.append(kCrlf);
  gather_.push_back(asio::buffer(scratch.last_chunk));
}

template <bool isRequest>
bool Session::FillBatch(beast::flat_buffer& buffer, MessageParser<isRequest>& parser,
                        BodyBatch& body, bool chunked_out, std::string_view prefix,
                        FrameScratch& scratch, size_t& consumed) {
  body.Clear();
  consumed = 0;
  if (!parser.is_done() && buffer.size() > 0) {
    error_code ec;
    consumed = parser.put(buffer.data(), ec);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec) {
      stream_error_ = ec;
      return false;
    }
  }
  gather_.clear();
  if (!prefix.empty()) gather_.push_back(asio::buffer(prefix));
  Frame(body, chunked_out, parser.is_done(), scratch);
  return true;
}

template <bool isRequest>
asio::awaitable<Session::StreamResult> Session::StreamBody(
    tcp::socket& from, beast::flat_buffer& buffer, MessageParser<isRequest>& parser,
    BodyBatch& body, tcp::socket& to, bool chunked_out, milliseconds read_timeout,
    milliseconds write_timeout, FrameScratch& scratch) {
  for (;;) {
    if (parser.is_done()) co_return StreamResult::kDone;
    if (buffer.size() > kMaxPendingBytes) {
      stream_error_ = bhttp::error::buffer_overflow;
      co_return StreamResult::kParseFailed;
    }
    Arm(Phase::kRelay, read_timeout);
    auto [ec, n] = co_await from.async_read_some(buffer.prepare(kReadSize), kUseTuple);
    if (ec == asio::error::eof && parser.need_eof()) {
      error_code eof_error;
      parser.put_eof(eof_error);
      if (eof_error) co_return StreamResult::kReadFailed;
    } else if (ec) {
      co_return StreamResult::kReadFailed;
    } else {
      buffer.commit(n);
    }
    size_t consumed = 0;
    if (!FillBatch(buffer, parser, body, chunked_out, {}, scratch, consumed)) {
      co_return StreamResult::kParseFailed;
    }
    if (!gather_.empty()) {
      Arm(Phase::kRelay, write_timeout);
      error_code write_error;
      if (!TryWrite(to, gather_, write_error)) write_error = co_await WriteRest(to, gather_);
      if (write_error) co_return StreamResult::kWriteFailed;
    }
    // The slices written above pointed into `buffer`; only now may it move.
    buffer.consume(consumed);
  }
}

asio::awaitable<bool> Session::Proxy(Decision& decision, const RequestFacts& facts,
                                     size_t head_length) {
  const HttpServerOptions& options = context_.options;
  HttpMetrics& metrics = context_.metrics;
  UpstreamPool& pool = worker_.pool();
  UpstreamPool::Target* target = &pool.Find(decision.upstream);
  RequestParser& parser = *request_parser_;

  UpstreamRequestFacts upstream_facts;
  upstream_facts.client_ip = client_ip_;
  upstream_facts.websocket = facts.websocket;
  upstream_facts.chunked = facts.chunked;
  upstream_facts.fallback_host = target->authority;
  AppendUpstreamRequestHead(request_head_, upstream_facts, upstream_head_);
  buffer_.consume(head_length);  // The head's views are not used past this point.

  if (facts.expect_continue && !parser.is_done() && buffer_.size() == 0) {
    gather_.assign(1, asio::buffer(kContinue));
    Arm(Phase::kClient, options.read_timeout);
    if (co_await WriteAll(socket_, gather_)) co_return false;
  }

  // Whatever part of the body is already buffered goes out with the head: one write, and,
  // when that is the whole request, one that can be repeated on a fresh connection (its
  // slices stay valid: nothing is read into buffer_ until the response is relayed).
  request_body_.Clear();
  if (!parser.is_done() && buffer_.size() > 0) {
    error_code ec;
    size_t n = parser.put(buffer_.data(), ec);
    if (ec == bhttp::error::need_more) ec = {};
    if (ec) {
      BadRequestReason reason;
      int status = StatusFor(ec, &reason);
      co_await Refuse(status, reason);
      co_return false;
    }
    buffer_.consume(n);
  }
  bool request_complete = parser.is_done();
  gather_.clear();
  gather_.push_back(asio::buffer(upstream_head_));
  Frame(request_body_, facts.chunked, request_complete, request_scratch_);
  first_send_ = gather_;

  using Failure = RequestHandler::UpstreamFailureKind;
  int origins_tried = 1;
  bool take_idle = true;       // A new target: start with one of its pooled connections.
  bool stale_retried = false;  // This target's pooled connection already failed once.
  // Moves the request to the origin the handler picked.
  auto switch_target = [&] {
    target = &pool.Find(decision.upstream);
    ++origins_tried;
    take_idle = true;
    stale_retried = false;
    metrics.upstream_retries->Increment();
  };
  for (;;) {
    if (take_idle) upstream_ = pool.TakeIdle(*target, worker_.Now());
    take_idle = false;
    if (upstream_ == nullptr && !co_await Connect(*target)) {
      // Nothing was sent: any request may go elsewhere.
      const bool timed_out = timed_out_;
      if (Reroute(decision, timed_out ? Failure::kTimeout : Failure::kConnect,
                  origins_tried < options.upstream_attempts)) {
        switch_target();
        continue;
      }
      co_return co_await UpstreamFailed(decision, facts, timed_out ? 504 : 502);
    }
    // A pooled connection the upstream closed just as it was reused fails before any
    // response byte; the whole request is still at hand, so it is sent again once.
    const bool stale_ok = !stale_retried && upstream_->reused && request_complete;
    // Another origin may take the request only if it is whole and safe to repeat.
    const bool may_move =
        facts.retryable && request_complete && origins_tried < options.upstream_attempts;
    gather_ = first_send_;
    Arm(Phase::kUpstream, options.upstream_timeout);
    // Only origins from pools keep a latency average: a fixed upstream skips the clock reads.
    const bool timed = decision.route.lease.get() != nullptr;
    const auto sent_at =
        timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    error_code write_error;
    if (!TryWrite(upstream_->socket, gather_, write_error)) {
      write_error = co_await WriteRest(upstream_->socket, gather_);
    }
    if (write_error) {
      bool timed_out = timed_out_;
      CloseUpstream();
      if (stale_ok && !timed_out) {
        stale_retried = true;
        metrics.upstream_retries->Increment();
        continue;
      }
      if (timed_out) metrics.upstream_timeouts->Increment();
      if (Reroute(decision, timed_out ? Failure::kTimeout : Failure::kReset,
                  may_move && !timed_out)) {
        switch_target();
        continue;
      }
      co_return co_await UpstreamFailed(decision, facts, timed_out ? 504 : 502);
    }
    bool request_sent = true;
    if (!request_complete) {
      StreamResult result = co_await StreamBody(
          socket_, buffer_, parser, request_body_, upstream_->socket, facts.chunked,
          options.read_timeout, options.upstream_timeout, request_scratch_);
      if (result == StreamResult::kReadFailed) {
        CloseUpstream();
        co_return false;
      }
      if (result == StreamResult::kParseFailed) {
        CloseUpstream();
        BadRequestReason reason;
        int status = StatusFor(stream_error_, &reason);
        co_await Refuse(status, reason);
        co_return false;
      }
      // The upstream stopped reading: it may have answered early, so read on.
      request_sent = result == StreamResult::kDone;
    }
    // The response head, read inline (see Run).
    StartResponse(facts.head);
    bool received_any = upstream_->buffer.size() > 0;
    size_t scanned = 0;
    HeadRead head;
    while (!ParseResponseHead(scanned, facts.head, head)) {
      Arm(Phase::kUpstream, options.upstream_timeout);
      auto [read_error, n] = co_await upstream_->socket.async_read_some(
          upstream_->buffer.prepare(kReadSize), kUseTuple);
      if (read_error) break;
      upstream_->buffer.commit(n);
      received_any = true;
    }
    if (head.status != HeadRead::kOk) {
      bool timed_out = timed_out_;
      CloseUpstream();
      if (stale_ok && !timed_out && !received_any && facts.retryable) {
        stale_retried = true;
        metrics.upstream_retries->Increment();
        continue;
      }
      if (timed_out) metrics.upstream_timeouts->Increment();
      if (Reroute(decision, timed_out ? Failure::kTimeout : Failure::kReset,
                  may_move && !timed_out && !received_any)) {
        switch_target();
        continue;
      }
      co_return co_await UpstreamFailed(decision, facts, timed_out ? 504 : 502);
    }
    const int64_t latency_us = timed ? std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - sent_at)
                                           .count()
                                     : 0;
    co_return co_await ProxyResponse(decision, facts, *target, head.length, request_sent,
                                     latency_us);
  }
}

bool Session::Reroute(Decision& decision, RequestHandler::UpstreamFailureKind why, bool may_retry) {
  // Cut (OnCut closed the client socket): the failure was ours, not the origin's, and no
  // deadline guards a new attempt any more.
  if (!socket_.is_open()) return false;
  try {
    return context_.handler.Reroute(decision, why, may_retry);
  } catch (const std::exception& e) {
    spdlog::error("agent http: Reroute threw: {}", e.what());
    return false;
  }
}

asio::awaitable<bool> Session::Connect(UpstreamPool::Target& target) {
  HttpMetrics& metrics = context_.metrics;
  Arm(Phase::kUpstream, context_.options.upstream_connect_timeout);
  error_code ec = co_await worker_.pool().Resolve(target);
  if (!ec && !timed_out_) {
    upstream_ = std::make_unique<UpstreamConnection>(socket_.get_executor());
    // Copied: another session may re-resolve while this one waits.
    std::vector<tcp::endpoint> endpoints = target.endpoints;
    for (const tcp::endpoint& endpoint : endpoints) {
      error_code ignored;
      upstream_->socket.close(ignored);
      std::tie(ec) = co_await upstream_->socket.async_connect(endpoint, kUseTuple);
      if (!ec || timed_out_) break;
    }
  }
  if (ec || timed_out_) {
    metrics.upstream_connect_failures->Increment();
    if (timed_out_) metrics.upstream_timeouts->Increment();
    spdlog::debug("agent http: cannot connect to {}: {}", target.authority,
                  timed_out_ ? "timed out" : ec.message());
    worker_.pool().Forget(target);
    CloseUpstream();
    co_return false;
  }
  upstream_->socket.set_option(tcp::no_delay(true), ec);
  upstream_->socket.non_blocking(true, ec);
  metrics.upstream_connections_opened->Increment();
  co_return true;
}

void Session::StartResponse(bool head_request) {
  response_parser_.emplace(response_head_, response_body_);
  ResponseParser& parser = *response_parser_;
  parser.header_limit(kMaxResponseHeaderBytes);
  parser.body_limit(boost::none);
  if (head_request) parser.skip(true);
}

bool Session::ParseResponseHead(size_t& scanned, bool head_request, HeadRead& result) {
  beast::flat_buffer& buffer = upstream_->buffer;
  for (;;) {
    if (buffer.size() == 0) return false;
    std::string_view data = BufferView(buffer);
    size_t end = HeadEnd(data, scanned);
    if (end == std::string_view::npos) {
      scanned = data.size();
      if (data.size() < kMaxResponseHeaderBytes) return false;
      result = HeadRead{HeadRead::kRefused};
      return true;
    }
    ResponseParser& parser = *response_parser_;
    error_code ec;
    size_t length = parser.put(asio::buffer(data.data(), end), ec);
    if (ec || !parser.is_header_done()) {
      result = HeadRead{HeadRead::kRefused};
      return true;
    }
    int status = response_head_.status;
    if (status / 100 != 1 || status == 101) {
      parser.eager(true);
      result = HeadRead{HeadRead::kOk, length};
      return true;
    }
    // Interim responses (100 Continue, 103 Early Hints) are not passed on.
    buffer.consume(length);
    StartResponse(head_request);
    scanned = 0;
  }
}

asio::awaitable<bool> Session::ProxyResponse(Decision& decision, const RequestFacts& facts,
                                             UpstreamPool::Target& target, size_t head_length,
                                             bool request_sent, int64_t latency_us) {
  const HttpServerOptions& options = context_.options;
  ResponseParser& parser = *response_parser_;
  const MessageHead& head = response_head_;
  int status = head.status;
  HeaderList extra;
  try {
    extra = context_.handler.OnUpstreamResponse(decision, status, AnteroomCommand(head.fields),
                                                latency_us);
  } catch (const std::exception& e) {
    spdlog::error("agent http: OnUpstreamResponse threw: {}", e.what());
  }

  if (status == 101) {
    if (!facts.websocket) {
      // Only WebSocket upgrades are forwarded, so this upstream is confused.
      CloseUpstream();
      co_return co_await UpstreamFailed(decision, facts, 502);
    }
    ClientResponseFacts response_facts;
    response_facts.framing = Framing::kNone;
    response_facts.upgrade = true;
    AppendClientResponseHead(head, response_facts, extra, decision.headers, client_head_);
    upstream_->buffer.consume(head_length);
    gather_.assign(1, asio::buffer(client_head_));
    Arm(Phase::kClient, options.read_timeout);
    error_code ec = co_await WriteAll(socket_, gather_);
    status_sent_ = 101;
    if (!ec) {
      context_.metrics.websocket_tunnels->Increment();
      co_await Tunnel(decision.route.lease.get());
    }
    CloseUpstream();
    co_return false;
  }

  bool keep_alive = facts.keep_alive && !worker_.draining() && request_parser_->is_done();
  ClientResponseFacts response_facts;
  if (facts.head || status == 204 || status == 304) {
    response_facts.framing = Framing::kNone;
  } else if (parser.content_length()) {
    response_facts.framing = Framing::kContentLength;
  } else if (!facts.http10) {
    response_facts.framing = Framing::kChunked;
  } else {
    response_facts.framing = Framing::kUntilClose;
    keep_alive = false;
  }
  response_facts.keep_alive = keep_alive;
  response_facts.http10_client = facts.http10;
  AppendClientResponseHead(head, response_facts, extra, decision.headers, client_head_);
  upstream_->buffer.consume(head_length);
  status_sent_ = status;
  // The first batch (for most responses, all of it) is written without another coroutine.
  StreamResult result = StreamResult::kDone;
  bool chunked_out = response_facts.framing == Framing::kChunked;
  size_t consumed = 0;
  if (!FillBatch(upstream_->buffer, parser, response_body_, chunked_out, client_head_,
                 response_scratch_, consumed)) {
    result = StreamResult::kParseFailed;
  } else {
    Arm(Phase::kRelay, options.read_timeout);
    error_code ec;
    if (!TryWrite(socket_, gather_, ec)) ec = co_await WriteRest(socket_, gather_);
    upstream_->buffer.consume(consumed);
    if (ec) {
      result = StreamResult::kWriteFailed;
    } else if (!parser.is_done()) {
      result = co_await StreamBody(upstream_->socket, upstream_->buffer, parser, response_body_,
                                   socket_, chunked_out, options.upstream_timeout,
                                   options.read_timeout, response_scratch_);
    }
  }
  if (result == StreamResult::kDone && request_sent && parser.keep_alive() &&
      upstream_ != nullptr && upstream_->buffer.size() == 0) {
    worker_.pool().Release(target, std::move(upstream_), worker_.Now());
  }
  CloseUpstream();
  co_return result == StreamResult::kDone&& keep_alive;
}

asio::awaitable<void> Session::Tunnel(const OriginState* origin) {
  using namespace asio::experimental::awaitable_operators;
  UpstreamConnection& upstream = *upstream_;
  milliseconds timeout = context_.options.upstream_timeout;
  // Bytes that came along with the heads go first.
  if (buffer_.size() > 0) {
    gather_.assign(1, buffer_.data());
    Arm(Phase::kTunnel, timeout);
    if (co_await WriteAll(upstream.socket, gather_)) co_return;
    buffer_.consume(buffer_.size());
  }
  if (upstream.buffer.size() > 0) {
    gather_.assign(1, upstream.buffer.data());
    Arm(Phase::kTunnel, timeout);
    if (co_await WriteAll(socket_, gather_)) co_return;
    upstream.buffer.consume(upstream.buffer.size());
  }
  if (origin == nullptr) {
    co_await (Pump(socket_, upstream.socket) && Pump(upstream.socket, socket_));
  } else {
    co_await ((Pump(socket_, upstream.socket) && Pump(upstream.socket, socket_)) ||
              WatchOrigin(*origin));
  }
}

asio::awaitable<void> Session::WatchOrigin(const OriginState& origin) {
  asio::steady_timer timer(socket_.get_executor());
  while (origin.up.load(std::memory_order_relaxed)) {
    timer.expires_after(kTunnelOriginCheck);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;  // The tunnel ended first.
  }
  // The origin went down while its process may still hold the connection open (health
  // failing, or gone without a reset): close both sides so the client reconnects elsewhere.
  spdlog::info("agent http: closing a WebSocket tunnel to {}, which is down", origin.key);
  error_code ignored;
  if (upstream_ != nullptr) upstream_->socket.close(ignored);
  socket_.close(ignored);
}

asio::awaitable<void> Session::Pump(tcp::socket& from, tcp::socket& to) {
  milliseconds timeout = context_.options.upstream_timeout;
  std::unique_ptr<char[]> storage(new char[kTunnelBufferBytes]);
  std::vector<asio::const_buffer> out;
  for (;;) {
    Arm(Phase::kTunnel, timeout);
    auto [ec, n] =
        co_await from.async_read_some(asio::buffer(storage.get(), kTunnelBufferBytes), kUseTuple);
    error_code ignored;
    if (ec == asio::error::eof) {
      to.shutdown(tcp::socket::shutdown_send, ignored);  // Half-close, as the peer did.
      co_return;
    }
    if (!ec) {
      out.assign(1, asio::const_buffer(storage.get(), n));
      Arm(Phase::kTunnel, timeout);
      ec = co_await WriteAll(to, out);
    }
    if (ec) {
      // Ends the other direction too.
      from.close(ignored);
      to.close(ignored);
      co_return;
    }
  }
}

}  // namespace anteroom::agent::http
