#pragma once

// A Beast HTTP/1 parser that allocates nothing per message: the head is kept as views into the
// connection's read buffer and body bytes are handed out as slices of that same buffer, so a
// relay writes them on without copying them into a body container.
//
// The views and slices stay valid until the read buffer is prepared for another read (reading
// into it may move its bytes); consuming does not move them.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstdint>
#include <string_view>
#include <vector>

#include "agent/http/asio_util.h"

namespace anteroom::agent::http {

namespace bhttp = boost::beast::http;

struct Field {
  bhttp::field id = bhttp::field::unknown;
  std::string_view name;
  std::string_view value;
};

// The head of one message.
struct MessageHead {
  bhttp::verb method = bhttp::verb::unknown;  // Requests.
  std::string_view method_string;             // Requests.
  std::string_view target;                    // Requests.
  int status = 0;                             // Responses.
  std::string_view reason;                    // Responses.
  int version = 11;                           // 10 or 11.
  std::vector<Field> fields;                  // In the order received.

  void Clear() {
    method = bhttp::verb::unknown;
    method_string = target = reason = {};
    status = 0;
    version = 11;
    fields.clear();
  }
};

// Body bytes parsed by one call to put(), and the trailer fields once the last chunk arrived.
struct BodyBatch {
  std::vector<asio::const_buffer> slices;
  uint64_t bytes = 0;
  std::vector<Field> trailers;

  void Clear() {
    slices.clear();
    bytes = 0;
    trailers.clear();
  }
};

template <bool isRequest>
class MessageParser final : public bhttp::basic_parser<isRequest> {
 public:
  // `head` and `body` are cleared and then filled as the message is parsed; they must outlive
  // the parser.
  MessageParser(MessageHead& head, BodyBatch& body) : head_(head), body_(body) {
    head_.Clear();
    body_.Clear();
  }

 private:
  void on_request_impl(bhttp::verb method, boost::beast::string_view method_string,
                       boost::beast::string_view target, int version, error_code&) override {
    head_.method = method;
    head_.method_string = method_string;
    head_.target = target;
    head_.version = version;
  }

  void on_response_impl(int status, boost::beast::string_view reason, int version,
                        error_code&) override {
    head_.status = status;
    head_.reason = reason;
    head_.version = version;
  }

  void on_field_impl(bhttp::field id, boost::beast::string_view name,
                     boost::beast::string_view value, error_code&) override {
    // Fields after the header are the trailer of a chunked body.
    (this->is_header_done() ? body_.trailers : head_.fields).push_back(Field{id, name, value});
  }

  void on_header_impl(error_code&) override {}

  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}

  size_t on_body_impl(boost::beast::string_view bytes, error_code&) override {
    Take(bytes);
    return bytes.size();
  }

  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}

  size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view bytes, error_code&) override {
    Take(bytes);
    return bytes.size();
  }

  void on_finish_impl(error_code&) override {}

  void Take(boost::beast::string_view bytes) {
    if (bytes.empty()) return;
    body_.slices.emplace_back(bytes.data(), bytes.size());
    body_.bytes += bytes.size();
  }

  MessageHead& head_;
  BodyBatch& body_;
};

using RequestParser = MessageParser<true>;
using ResponseParser = MessageParser<false>;

}  // namespace anteroom::agent::http
