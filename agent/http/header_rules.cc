#include "agent/http/header_rules.h"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace anteroom::agent::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each non-empty element of a comma-separated list; stops when fn
// returns true and returns whether it did.
template <class Fn>
bool AnyToken(std::string_view list, Fn fn) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = Trim(list.substr(0, comma));
    if (!element.empty() && fn(element)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append(kCrlf);
}

void AppendNumber(std::string& out, uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
  (void)ec;
  out.append(digits, end);
}

void AppendStatusLine(std::string& out, int status, std::string_view reason) {
  out.append("HTTP/1.1 ");
  AppendNumber(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  if (reason.empty()) reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out.append(reason);
  out.append(kCrlf);
}

bool IsName(const Field& field, std::string_view name) {
  return field.id == bhttp::field::unknown && EqualsIgnoreCase(field.name, name);
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool HasToken(std::string_view list, std::string_view token) {
  return AnyToken(list, [token](std::string_view e) { return EqualsIgnoreCase(e, token); });
}

bool AnyFieldHasToken(const std::vector<Field>& fields, bhttp::field id, std::string_view token) {
  for (const Field& field : fields) {
    if (field.id == id && HasToken(field.value, token)) return true;
  }
  return false;
}

const Field* FindField(const std::vector<Field>& fields, bhttp::field id) {
  for (const Field& field : fields) {
    if (field.id == id) return &field;
  }
  return nullptr;
}

const Field* FindField(const std::vector<Field>& fields, std::string_view name) {
  for (const Field& field : fields) {
    if (EqualsIgnoreCase(field.name, name)) return &field;
  }
  return nullptr;
}

std::string_view NormalizeHost(std::string_view host_header, std::string& storage) {
  std::string_view host = Trim(host_header);
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  bool lower = true;
  for (char c : host) lower = lower && Lower(c) == c;
  if (lower) return host;
  storage.assign(host);
  for (char& c : storage) c = Lower(c);
  return storage;
}

bool TransferEncodingSupported(const std::vector<Field>& fields) {
  int count = 0;
  for (const Field& field : fields) {
    if (field.id != bhttp::field::transfer_encoding) continue;
    if (++count > 1 || !EqualsIgnoreCase(Trim(field.value), "chunked")) return false;
  }
  return true;
}

bool IsHopByHop(const Field& field, const std::vector<Field>& fields, bool has_connection) {
  switch (field.id) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
      return true;
    default:
      break;
  }
  if (!has_connection) return false;
  for (const Field& connection : fields) {
    if (connection.id == bhttp::field::connection && HasToken(connection.value, field.name)) {
      return true;
    }
  }
  return false;
}

void AppendUpstreamRequestHead(const MessageHead& request, const UpstreamRequestFacts& facts,
                               std::string& out) {
  out.clear();
  out.append(request.method_string);
  out.push_back(' ');
  out.append(request.target);
  out.append(" HTTP/1.1\r\n");

  const std::vector<Field>& fields = request.fields;
  bool has_connection = FindField(fields, bhttp::field::connection) != nullptr;
  const Field* host = nullptr;
  const Field* upgrade = nullptr;
  bool te_trailers = false;
  for (const Field& field : fields) {
    switch (field.id) {
      case bhttp::field::host:
        if (host == nullptr) host = &field;
        break;
      case bhttp::field::upgrade:
        if (upgrade == nullptr) upgrade = &field;
        continue;
      case bhttp::field::te:
        te_trailers = te_trailers || HasToken(field.value, "trailers");
        continue;
      case bhttp::field::expect:  // Answered by the proxy itself.
        continue;
      case bhttp::field::unknown:
        if (EqualsIgnoreCase(field.name, "X-Forwarded-For") ||
            EqualsIgnoreCase(field.name, "X-Forwarded-Proto") ||
            EqualsIgnoreCase(field.name, "X-Forwarded-Host")) {
          continue;
        }
        break;
      default:
        break;
    }
    if (IsHopByHop(field, fields, has_connection)) continue;
    AppendField(out, field.name, field.value);
  }
  if (facts.websocket) {
    out.append("Connection: upgrade\r\n");
    AppendField(out, "Upgrade", upgrade != nullptr ? upgrade->value : "websocket");
  }
  if (te_trailers) out.append("TE: trailers\r\n");
  if (facts.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (host == nullptr && !facts.fallback_host.empty())
    AppendField(out, "Host", facts.fallback_host);

  out.append("X-Forwarded-For: ");
  for (const Field& field : fields) {
    if (IsName(field, "X-Forwarded-For") && !Trim(field.value).empty()) {
      out.append(Trim(field.value));
      out.append(", ");
    }
  }
  out.append(facts.client_ip);
  out.append(kCrlf);
  out.append(facts.tls ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n");
  if (host != nullptr) AppendField(out, "X-Forwarded-Host", host->value);
  out.append(kCrlf);
}

void AppendClientResponseHead(const MessageHead& response, const ClientResponseFacts& facts,
                              const HeaderList& extra, const HeaderList& decision_headers,
                              std::string& out) {
  out.clear();
  AppendStatusLine(out, response.status, response.reason);
  const std::vector<Field>& fields = response.fields;
  bool has_connection = FindField(fields, bhttp::field::connection) != nullptr;
  const Field* upgrade = nullptr;
  for (const Field& field : fields) {
    switch (field.id) {
      case bhttp::field::upgrade:
        if (upgrade == nullptr) upgrade = &field;
        continue;
      case bhttp::field::content_length:
        if (facts.framing != Framing::kContentLength && facts.framing != Framing::kNone) continue;
        break;
      case bhttp::field::trailer:
        if (facts.framing != Framing::kChunked) continue;
        break;
      case bhttp::field::unknown:
        if (EqualsIgnoreCase(field.name, "X-Anteroom-Command")) continue;
        break;
      default:
        break;
    }
    if (IsHopByHop(field, fields, has_connection)) continue;
    AppendField(out, field.name, field.value);
  }
  for (const auto& [name, value] : extra) AppendField(out, name, value);
  for (const auto& [name, value] : decision_headers) AppendField(out, name, value);
  if (facts.framing == Framing::kChunked) out.append("Transfer-Encoding: chunked\r\n");
  if (facts.upgrade) {
    out.append("Connection: upgrade\r\n");
    AppendField(out, "Upgrade", upgrade != nullptr ? upgrade->value : "websocket");
  } else if (!facts.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (facts.http10_client) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append(kCrlf);
}

void AppendLocalResponseHead(int status, std::string_view content_type, size_t content_length,
                             const HeaderList& headers, bool keep_alive, bool http10_client,
                             std::string& out) {
  out.clear();
  AppendStatusLine(out, status, {});
  if (!content_type.empty()) AppendField(out, "Content-Type", content_type);
  out.append("Content-Length: ");
  AppendNumber(out, content_length);
  out.append(kCrlf);
  bool cache_control = false;
  for (const auto& [name, value] : headers) {
    cache_control = cache_control || EqualsIgnoreCase(name, "Cache-Control");
    AppendField(out, name, value);
  }
  if (!cache_control) out.append("Cache-Control: no-store\r\n");
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (http10_client) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append(kCrlf);
}

std::string_view AnteroomCommand(const std::vector<Field>& fields) {
  for (const Field& field : fields) {
    if (IsName(field, "X-Anteroom-Command")) return Trim(field.value);
  }
  return {};
}

std::string_view ChunkHeader(uint64_t size, std::span<char> buffer) {
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size() - 2, size, 16);
  (void)ec;
  end[0] = '\r';
  end[1] = '\n';
  return std::string_view(buffer.data(), static_cast<size_t>(end + 2 - buffer.data()));
}

bool IsIdempotent(bhttp::verb method) {
  switch (method) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::trace:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
      return true;
    default:
      return false;
  }
}

}  // namespace anteroom::agent::http
