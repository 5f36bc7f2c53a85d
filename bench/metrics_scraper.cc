#include "bench/metrics_scraper.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace anteroom::bench {
namespace {

constexpr int kTimeoutSeconds = 2;

// Connects to "host:port" (numeric or a name) with send/receive timeouts; -1 on failure.
int Connect(const std::string& host_port, std::string* error) {
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    *error = absl::StrCat("'", host_port, "' is not host:port");
    return -1;
  }
  std::string host = host_port.substr(0, colon);
  std::string port = host_port.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    *error = absl::StrCat("resolve ", host_port, ": ", gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    timeval tv{kTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      *error = absl::StrCat("connect ", host_port, ": ", std::strerror(errno));
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

// Decodes a chunked transfer-coding body; nullopt when malformed.
std::optional<std::string> Dechunk(absl::string_view in) {
  std::string out;
  while (true) {
    size_t eol = in.find("\r\n");
    if (eol == absl::string_view::npos) return std::nullopt;
    absl::string_view size_text = in.substr(0, eol);
    size_text = size_text.substr(0, size_text.find(';'));
    size_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) return std::nullopt;
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return std::nullopt;
    out.append(in.data(), size);
    in.remove_prefix(size + 2);
  }
}

}  // namespace

std::optional<std::string> FetchMetrics(const std::string& host_port, std::string* error) {
  int fd = Connect(host_port, error);
  if (fd < 0) return std::nullopt;
  std::string request = absl::StrCat("GET /metrics HTTP/1.1\r\nHost: ", host_port,
                                     "\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      *error = absl::StrCat("send to ", host_port, ": ", std::strerror(errno));
      close(fd);
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[16384];
  while (true) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = absl::StrCat("read from ", host_port, ": ", std::strerror(errno));
      close(fd);
      return std::nullopt;
    }
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);

  size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    *error = absl::StrCat("no HTTP response head from ", host_port);
    return std::nullopt;
  }
  absl::string_view head(response.data(), head_end);
  absl::string_view status_line = head.substr(0, head.find("\r\n"));
  std::vector<absl::string_view> status_parts = absl::StrSplit(status_line, ' ');
  if (status_parts.size() < 2 || status_parts[1] != "200") {
    *error = absl::StrCat("GET /metrics on ", host_port, ": ", status_line);
    return std::nullopt;
  }
  std::string body = response.substr(head_end + 4);
  std::string lower_head = absl::AsciiStrToLower(head);
  if (lower_head.find("transfer-encoding: chunked") != std::string::npos) {
    std::optional<std::string> plain = Dechunk(body);
    if (!plain) {
      *error = absl::StrCat("malformed chunked body from ", host_port);
      return std::nullopt;
    }
    return plain;
  }
  return body;
}

std::optional<double> SumCounter(absl::string_view body, absl::string_view name) {
  std::optional<double> sum;
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    if (!absl::ConsumePrefix(&line, name)) continue;
    // The name must end here: "name value" or "name{labels} value".
    if (!line.empty() && line.front() == '{') {
      size_t close_brace = line.find('}');
      if (close_brace == absl::string_view::npos) continue;
      line.remove_prefix(close_brace + 1);
    } else if (line.empty() || (line.front() != ' ' && line.front() != '\t')) {
      continue;
    }
    line = absl::StripLeadingAsciiWhitespace(line);
    absl::string_view value_text = line.substr(0, line.find(' '));  // Drop a timestamp.
    double value = 0;
    if (!absl::SimpleAtod(value_text, &value)) continue;
    sum = sum.value_or(0) + value;
  }
  return sum;
}

}  // namespace anteroom::bench
