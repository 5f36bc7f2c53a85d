#pragma once

// The header rules of a reverse proxy, without I/O: hop-by-hop fields (RFC 9110 section 7.6.1),
// X-Forwarded-*, response framing, and the heads the proxy writes. Each Append* function writes
// a complete head ending in an empty line into `out`, replacing its contents (the caller reuses
// one string so that steady-state requests allocate nothing).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/http/message_parser.h"

namespace anteroom::agent::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Whether the comma-separated list `list` has the element `token` (case-insensitive, optional
// whitespace around elements).
bool HasToken(std::string_view list, std::string_view token);

// Whether any field named `name` (case-insensitive) has the list element `token`.
bool AnyFieldHasToken(const std::vector<Field>& fields, bhttp::field id, std::string_view token);

// The first field with that id (or, for fields Beast does not know, that name); nullptr when
// absent.
const Field* FindField(const std::vector<Field>& fields, bhttp::field id);
const Field* FindField(const std::vector<Field>& fields, std::string_view name);

// The Host header's host: the port removed, lower-cased ("Example.COM:8080" -> "example.com",
// "[::1]:80" -> "[::1]"). Returns a view of `host_header` when no change is needed, else of
// `storage`.
std::string_view NormalizeHost(std::string_view host_header, std::string& storage);

// Whether a request's Transfer-Encoding fields (if any) are exactly "chunked": the only coding
// the proxy accepts from clients (anything else is answered 501, as nginx does).
bool TransferEncodingSupported(const std::vector<Field>& fields);

// Whether `field` must not be forwarded: a hop-by-hop field or one named by a Connection field
// of the same message.
bool IsHopByHop(const Field& field, const std::vector<Field>& fields, bool has_connection);

struct UpstreamRequestFacts {
  std::string_view client_ip;
  bool tls = false;
  bool websocket = false;          // Keep Upgrade and send Connection: upgrade.
  bool chunked = false;            // The body is re-framed as chunked.
  std::string_view fallback_host;  // Host to send when the request has none.
};

// The request line (always HTTP/1.1) and fields for the upstream: hop-by-hop fields and Expect
// removed, X-Forwarded-For appended to, X-Forwarded-Proto and X-Forwarded-Host set.
void AppendUpstreamRequestHead(const MessageHead& request, const UpstreamRequestFacts& facts,
                               std::string& out);

// How a response body reaches the client.
enum class Framing {
  kNone,           // No body (HEAD, 1xx, 204, 304); Content-Length passed on as sent.
  kContentLength,  // As the upstream's Content-Length.
  kChunked,        // Re-framed as chunked.
  kUntilClose,     // Delimited by closing the connection (HTTP/1.0 clients).
};

struct ClientResponseFacts {
  Framing framing = Framing::kContentLength;
  bool keep_alive = true;
  bool http10_client = false;
  bool upgrade = false;  // A 101 switching to WebSocket.
};

// The upstream response's status line and fields for the client: hop-by-hop fields and
// X-Anteroom-Command removed, then `extra` and `decision_headers`, then framing and Connection.
void AppendClientResponseHead(const MessageHead& response, const ClientResponseFacts& facts,
                              const HeaderList& extra, const HeaderList& decision_headers,
                              std::string& out);

// A locally generated response: Content-Type (unless empty), Content-Length, `headers`,
// Cache-Control: no-store unless `headers` has a Cache-Control, and Connection as needed.
void AppendLocalResponseHead(int status, std::string_view content_type, size_t content_length,
                             const HeaderList& headers, bool keep_alive, bool http10_client,
                             std::string& out);

// The value of X-Anteroom-Command, or empty.
std::string_view AnteroomCommand(const std::vector<Field>& fields);

// "1a3f\r\n" for a chunk of `size` bytes, written into `buffer` (at least 20 bytes).
std::string_view ChunkHeader(uint64_t size, std::span<char> buffer);

// Whether a request with this method may be sent again after a failure (RFC 9110 9.2.2).
bool IsIdempotent(bhttp::verb method);

}  // namespace anteroom::agent::http
