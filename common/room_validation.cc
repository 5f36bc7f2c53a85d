#include "common/room_validation.h"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/expected_codes.h"
#include "common/page_template.h"
#include "common/room_settings.h"

namespace anteroom::common {
namespace {

constexpr size_t kMaxHostLength = 253;
constexpr size_t kMaxPathLength = 1024;
constexpr size_t kMaxTemplateBytes = 256 * 1024;
constexpr size_t kMaxListEntries = 256;
constexpr int64_t kMaxLimit = 1'000'000'000;
constexpr int64_t kMaxDurationSeconds = 31 * 24 * 3600;

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status CheckRange(absl::string_view field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    return Invalid(field, absl::StrCat("must be between ", lo, " and ", hi, " (got ", value, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckOptionalDuration(absl::string_view field, int64_t seconds) {
  if (seconds < 0) return Invalid(field, absl::StrCat("must not be negative (got ", seconds, ")"));
  return CheckRange(field, seconds, 0, kMaxDurationSeconds);
}

absl::Status ValidateHost(absl::string_view field, absl::string_view host) {
  if (host.size() > kMaxHostLength) return Invalid(field, "longer than 253 characters");
  absl::string_view rest = host;
  if (absl::ConsumePrefix(&rest, "*.")) {
    if (rest.empty()) return Invalid(field, "wildcard needs a suffix, as in *.example.com");
  }
  for (char c : rest) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return Invalid(field, absl::StrCat("invalid character '", std::string(1, c), "'"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePath(absl::string_view field, absl::string_view path) {
  if (path.empty()) return absl::OkStatus();
  if (path.front() != '/') return Invalid(field, "must start with '/'");
  if (path.size() > kMaxPathLength) return Invalid(field, "longer than 1024 characters");
  for (char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Invalid(field, "must not contain spaces or control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCidr(absl::string_view field, absl::string_view cidr) {
  std::vector<std::string> parts = absl::StrSplit(cidr, '/');
  if (parts.size() != 2) return Invalid(field, "must be address/prefix, as in 10.0.0.0/8");
  unsigned char buf[16];
  int max_bits;
  if (inet_pton(AF_INET, parts[0].c_str(), buf) == 1) {
    max_bits = 32;
  } else if (inet_pton(AF_INET6, parts[0].c_str(), buf) == 1) {
    max_bits = 128;
  } else {
    return Invalid(field, absl::StrCat("'", parts[0], "' is not an IPv4 or IPv6 address"));
  }
  int bits;
  if (!absl::SimpleAtoi(parts[1], &bits) || bits < 0 || bits > max_bits) {
    return Invalid(field, absl::StrCat("prefix length must be 0-", max_bits));
  }
  return absl::OkStatus();
}

// Printable text for pages and logs: no control characters (which would also let a value
// split an HTTP header).
absl::Status ValidateText(absl::string_view field, absl::string_view text, size_t max_length) {
  if (text.size() > max_length) {
    return Invalid(field, absl::StrCat("longer than ", max_length, " bytes"));
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return Invalid(field, "must not contain control characters");
    }
  }
  return absl::OkStatus();
}

// An HTTP token (RFC 9110 tchar): method and header names.
absl::Status ValidateHttpToken(absl::string_view field, absl::string_view token,
                               size_t max_length) {
  if (token.empty()) return Invalid(field, "is empty");
  if (token.size() > max_length) {
    return Invalid(field, absl::StrCat("longer than ", max_length, " characters"));
  }
  for (char c : token) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
    if (!ok) {
      // Escaped, so a CR or LF in the input does not reach logs raw.
      return Invalid(field, absl::StrCat("invalid character '", absl::CHexEscape(std::string(1, c)),
                                         "' (letters, digits and !#$%&'*+-.^_`|~ only)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePageSettings(absl::string_view field, const v1::PageSettings& page) {
  if (page.custom_html().size() > kMaxTemplateBytes) {
    return Invalid(absl::StrCat(field, ".custom_html"), "larger than 256 KiB");
  }
  if (auto s = ValidateText(absl::StrCat(field, ".title"), page.title(), 256); !s.ok()) return s;
  const std::string language = absl::StrCat(field, ".default_language");
  if (page.default_language().size() > 16) return Invalid(language, "longer than 16 characters");
  for (char c : page.default_language()) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return Invalid(language, "must be a language tag such as en or pt-BR");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEventOverrides(const v1::EventOverrides& o) {
  if (o.has_total_active_users()) {
    if (auto s = CheckRange("room.event.overrides.total_active_users", o.total_active_users(), 1,
                            kMaxLimit);
        !s.ok())
      return s;
  }
  if (o.has_new_users_per_minute()) {
    if (auto s = CheckRange("room.event.overrides.new_users_per_minute", o.new_users_per_minute(),
                            1, kMaxLimit);
        !s.ok())
      return s;
  }
  if (o.has_session_duration_seconds()) {
    if (auto s = CheckRange("room.event.overrides.session_duration_seconds",
                            o.session_duration_seconds(), 10, kMaxDurationSeconds);
        !s.ok())
      return s;
  }
  return ValidatePageSettings("room.event.overrides.page", o.page());
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return Invalid(field, "is required");
  if (id.size() > 64) return Invalid(field, "longer than 64 characters");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return Invalid(field, "may contain only a-z, 0-9, '-' and '_'");
  }
  return absl::OkStatus();
}

absl::Status ValidateExpectedCodes(absl::string_view field, absl::string_view codes) {
  return ExpectedCodes::Parse(field, codes).status();
}

absl::Status ValidateRoom(const v1::Room& room) {
  if (auto s = ValidateId("room.id", room.id()); !s.ok()) return s;
  if (room.routes_size() > static_cast<int>(kMaxListEntries)) {
    return Invalid("room.routes", "more than 256 entries");
  }
  for (int i = 0; i < room.routes_size(); ++i) {
    std::string f = absl::StrCat("room.routes[", i, "]");
    if (auto s = ValidateHost(f + ".host", room.routes(i).host()); !s.ok()) return s;
    if (auto s = ValidatePath(f + ".path_prefix", room.routes(i).path_prefix()); !s.ok()) return s;
  }
  if (auto s = CheckRange("room.total_active_users", room.total_active_users(), 1, kMaxLimit);
      !s.ok())
    return s;
  if (auto s = CheckRange("room.new_users_per_minute", room.new_users_per_minute(), 1, kMaxLimit);
      !s.ok())
    return s;
  if (auto s =
          CheckOptionalDuration("room.session_duration_seconds", room.session_duration_seconds());
      !s.ok())
    return s;
  if (room.session_duration_seconds() != 0 && room.session_duration_seconds() < 10) {
    return Invalid("room.session_duration_seconds", "must be at least 10 (one expiry slot)");
  }
  if (auto s = CheckOptionalDuration("room.max_session_duration_seconds",
                                     room.max_session_duration_seconds());
      !s.ok())
    return s;
  if (room.max_session_duration_seconds() != 0 &&
      room.max_session_duration_seconds() < SessionSeconds(room)) {
    return Invalid(
        "room.max_session_duration_seconds",
        absl::StrCat("must be at least the session duration (", SessionSeconds(room),
                     " s) or 0 for no cap (got ", room.max_session_duration_seconds(), ")"));
  }
  if (!v1::QueueingMethod_IsValid(room.queueing_method())) {
    return Invalid("room.queueing_method", "unknown value");
  }
  if (auto s =
          CheckOptionalDuration("room.refresh_interval_seconds", room.refresh_interval_seconds());
      !s.ok())
    return s;
  if (room.refresh_interval_seconds() > 3600) {
    return Invalid("room.refresh_interval_seconds", "must be at most 3600");
  }
  if (auto s = CheckOptionalDuration("room.abandon_grace_seconds", room.abandon_grace_seconds());
      !s.ok())
    return s;
  if (room.abandon_grace_seconds() != 0 &&
      room.abandon_grace_seconds() < 2 * RefreshSeconds(room)) {
    return Invalid(
        "room.abandon_grace_seconds",
        absl::StrCat("must be at least twice the refresh interval (", 2 * RefreshSeconds(room),
                     " s) or 0 for the default (got ", room.abandon_grace_seconds(), ")"));
  }
  int code = room.queueing_status_code();
  if (code != 0 && code != 200 && code != 202 && code != 429 && code != 503) {
    return Invalid("room.queueing_status_code",
                   absl::StrCat("must be 200, 202, 429 or 503 (got ", code, ")"));
  }
  if (auto s = ValidatePageSettings("room.page", room.page()); !s.ok()) return s;
  // A template is compiled here, once, so a broken one is refused rather than served.
  if (!room.page().custom_html().empty()) {
    const TemplateUse use = Method(room) == v1::QUEUEING_METHOD_REJECT ? TemplateUse::kClosedPage
                                                                       : TemplateUse::kQueuePage;
    if (auto t = PageTemplate::Compile(room.page().custom_html(), use); !t.ok()) {
      return Invalid("room.page.custom_html", t.status().message());
    }
  }
  if (!room.event().overrides().page().custom_html().empty()) {
    if (auto t = PageTemplate::Compile(room.event().overrides().page().custom_html()); !t.ok()) {
      return Invalid("room.event.overrides.page.custom_html", t.status().message());
    }
  }
  const v1::Event& ev = room.event();
  if (ev.prequeue_start_unix() < 0) return Invalid("room.event.prequeue_start_unix", "negative");
  if (ev.start_unix() < 0) return Invalid("room.event.start_unix", "negative");
  if (ev.end_unix() < 0) return Invalid("room.event.end_unix", "negative");
  if (ev.prequeue_start_unix() != 0 && ev.start_unix() == 0) {
    return Invalid("room.event.prequeue_start_unix", "needs event.start_unix");
  }
  if (ev.prequeue_start_unix() != 0 && ev.prequeue_start_unix() > ev.start_unix()) {
    return Invalid("room.event.prequeue_start_unix", "must not be after event.start_unix");
  }
  if (ev.end_unix() != 0 && ev.end_unix() <= ev.start_unix()) {
    return Invalid("room.event.end_unix", "must be after event.start_unix");
  }
  if (auto s = ValidateEventOverrides(ev.overrides()); !s.ok()) return s;
  if (room.bypass_size() > static_cast<int>(kMaxListEntries)) {
    return Invalid("room.bypass", "more than 256 entries");
  }
  for (int i = 0; i < room.bypass_size(); ++i) {
    const v1::BypassRule& r = room.bypass(i);
    std::string f = absl::StrCat("room.bypass[", i, "]");
    switch (r.rule_case()) {
      case v1::BypassRule::kPathPrefix:
        if (r.path_prefix().empty()) return Invalid(f + ".path_prefix", "is empty");
        if (auto s = ValidatePath(f + ".path_prefix", r.path_prefix()); !s.ok()) return s;
        break;
      case v1::BypassRule::kHeader:
        if (r.header().name().empty()) return Invalid(f + ".header.name", "is required");
        if (r.header().name().size() > 256 || r.header().value().size() > 4096) {
          return Invalid(f + ".header", "name or value too long");
        }
        break;
      case v1::BypassRule::kClientCidr:
        if (auto s = ValidateCidr(f + ".client_cidr", r.client_cidr()); !s.ok()) return s;
        break;
      case v1::BypassRule::kSignedToken:
        break;
      case v1::BypassRule::RULE_NOT_SET:
        return Invalid(f, "names no rule (path_prefix, header, client_cidr or signed_token)");
    }
  }
  const v1::CookieSettings& c = room.cookie();
  if (!c.name_suffix().empty()) {
    if (auto s = ValidateId("room.cookie.name_suffix", c.name_suffix()); !s.ok()) return s;
  }
  if (!c.domain().empty()) {
    if (auto s = ValidateHost("room.cookie.domain", c.domain()); !s.ok()) return s;
  }
  if (!v1::SameSite_IsValid(c.same_site()))
    return Invalid("room.cookie.same_site", "unknown value");
  if (c.same_site() == v1::SAME_SITE_NONE && !c.secure()) {
    return Invalid("room.cookie.same_site", "NONE requires cookie.secure");
  }
  if (room.pools_size() > 16) return Invalid("room.pools", "more than 16 pools");
  for (int i = 0; i < room.pools_size(); ++i) {
    if (auto s = ValidateId(absl::StrCat("room.pools[", i, "]"), room.pools(i)); !s.ok()) return s;
  }
  if (!room.fallback_pool().empty()) {
    if (auto s = ValidateId("room.fallback_pool", room.fallback_pool()); !s.ok()) return s;
  }
  if (!v1::FailMode_IsValid(room.fail_mode())) return Invalid("room.fail_mode", "unknown value");
  return absl::OkStatus();
}

absl::Status ValidatePool(const v1::Pool& pool) {
  if (auto s = ValidateId("pool.id", pool.id()); !s.ok()) return s;
  if (pool.origins_size() == 0) return Invalid("pool.origins", "needs at least one origin");
  if (pool.origins_size() > static_cast<int>(kMaxListEntries)) {
    return Invalid("pool.origins", "more than 256 entries");
  }
  for (int i = 0; i < pool.origins_size(); ++i) {
    const v1::Origin& o = pool.origins(i);
    std::string f = absl::StrCat("pool.origins[", i, "]");
    if (o.address().empty()) return Invalid(f + ".address", "is required");
    if (auto s = ValidateHost(f + ".address", o.address()); !s.ok()) return s;
    if (auto s = CheckRange(f + ".port", o.port(), 1, 65535); !s.ok()) return s;
    if (auto s = CheckRange(f + ".weight", o.weight(), 0, 1000); !s.ok()) return s;
    if (auto s = ValidateText(f + ".name", o.name(), 128); !s.ok()) return s;
  }
  if (auto s = CheckRange("pool.minimum_healthy", pool.minimum_healthy(), 0, pool.origins_size());
      !s.ok())
    return s;
  const v1::Monitor& m = pool.monitor();
  if (!v1::MonitorType_IsValid(m.type())) return Invalid("pool.monitor.type", "unknown value");
  if (!m.path().empty()) {
    if (auto s = ValidatePath("pool.monitor.path", m.path()); !s.ok()) return s;
  }
  if (!m.method().empty()) {
    if (auto s = ValidateHttpToken("pool.monitor.method", m.method(), 32); !s.ok()) return s;
  }
  if (!m.host_header().empty()) {
    // host[:port] as sent; underscores are fine (container service names use them).
    if (auto s = ValidateText("pool.monitor.host_header", m.host_header(), 261); !s.ok()) return s;
    if (m.host_header().find_first_of(" \t/") != std::string::npos) {
      return Invalid("pool.monitor.host_header", "must be host or host:port, without spaces");
    }
  }
  if (m.headers_size() > 32) return Invalid("pool.monitor.headers", "more than 32 headers");
  for (const auto& [name, value] : m.headers()) {
    // The name goes into the field path escaped and cut short, so a bad one cannot flood or
    // split the error it causes.
    const std::string f =
        absl::StrCat("pool.monitor.headers[", absl::CHexEscape(name.substr(0, 64)), "]");
    if (auto s = ValidateHttpToken(f, name, 256); !s.ok()) return s;
    // The prober writes these itself; a second copy would make the probe malformed.
    for (absl::string_view own : {"host", "content-length", "transfer-encoding", "connection"}) {
      if (absl::EqualsIgnoreCase(name, own)) {
        return Invalid(f, absl::StrCat("is set by the prober",
                                       own == "host" ? "; use monitor.host_header" : ""));
      }
    }
    if (auto s = ValidateText(f, value, 4096); !s.ok()) return s;
  }
  if (m.expected_body().size() > 64 * 1024) {
    return Invalid("pool.monitor.expected_body", "longer than 65536 bytes");
  }
  if (auto s = ValidateExpectedCodes("pool.monitor.expected_codes", m.expected_codes()); !s.ok())
    return s;
  if (m.interval_ms() < 0) return Invalid("pool.monitor.interval_ms", "must not be negative");
  if (m.timeout_ms() < 0) return Invalid("pool.monitor.timeout_ms", "must not be negative");
  if (m.jitter_ms() < 0) return Invalid("pool.monitor.jitter_ms", "must not be negative");
  if (m.interval_ms() != 0 && m.interval_ms() < 100) {
    return Invalid("pool.monitor.interval_ms", "must be at least 100");
  }
  int64_t interval = m.interval_ms() ? m.interval_ms() : 2000;
  int64_t timeout = m.timeout_ms() ? m.timeout_ms() : 1000;
  if (timeout >= interval) return Invalid("pool.monitor.timeout_ms", "must be below interval_ms");
  if (auto s = CheckRange("pool.monitor.consecutive_up", m.consecutive_up(), 0, 100); !s.ok())
    return s;
  if (auto s = CheckRange("pool.monitor.consecutive_down", m.consecutive_down(), 0, 100); !s.ok())
    return s;
  if (!v1::SteeringPolicy_IsValid(pool.steering()))
    return Invalid("pool.steering", "unknown value");
  return absl::OkStatus();
}

}  // namespace anteroom::common
