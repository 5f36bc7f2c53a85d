// Bypass token layout. The token is base64url (RFC 4648 section 5, no padding) of:
//
//   bypass_token := kind expires key_id room_id mac
//   kind         := 0x42 ('B')            cookie tokens start with their version, 0x01
//   expires      := uint64 big-endian     Unix seconds; valid while now < expires
//   key_id       := length:byte byte[length]     1..32 bytes
//   room_id      := length:byte byte[length]     1..255 bytes
//   mac          := byte[32]              HMAC-SHA-256(key secret, every byte before mac)
//
// Nothing follows mac. The MAC covers the kind byte, so no cookie token verifies as a bypass
// token under the same key, nor the other way round.

#include "agent/bypass.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace anteroom::agent {
namespace {

constexpr uint8_t kKind = 0x42;
constexpr size_t kMacBytes = 32;
constexpr size_t kMaxRoomIdBytes = 255;
// Far above any token we make (~150 characters).
constexpr size_t kMaxTokenChars = 512;
// Longest textual IPv6 address with a zone id and brackets, and the NUL.
constexpr size_t kMaxAddressChars = 64;

// Debian's abseil has its own string_view type.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Parses an IPv4 or IPv6 address into IPv6 form, IPv4 as ::ffff:a.b.c.d. `*is_v4` tells which
// family the text was. Accepts "[...]" and drops a "%zone" suffix. False on anything else.
bool ParseAddress(std::string_view text, std::array<uint8_t, 16>* out, bool* is_v4) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  text = text.substr(0, text.find('%'));
  if (text.empty() || text.size() >= kMaxAddressChars) return false;
  char buf[kMaxAddressChars];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    *out = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
    *is_v4 = true;
    return true;
  }
  *is_v4 = false;
  return inet_pton(AF_INET6, buf, out->data()) == 1;
}

bool InBlock(const std::array<uint8_t, 16>& address, const std::array<uint8_t, 16>& network,
             int bits) {
  int full = bits / 8;
  if (std::memcmp(address.data(), network.data(), full) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address[full] & mask) == network[full];
}

// The headers RequestView carries as fields may not be served by its `header` function.
std::optional<std::string_view> HeaderValue(const RequestView& request, std::string_view name) {
  if (name == "host") return request.host;
  if (name == "cookie") return request.cookie;
  if (name == "accept") return request.accept;
  if (name == "accept-language") return request.accept_language;
  if (!request.header) return std::nullopt;
  return request.header(name);
}

std::optional<std::string_view> QueryParameter(std::string_view target, std::string_view name) {
  target = target.substr(0, target.find('#'));
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace

std::string MakeBypassToken(std::string_view room_id, int64_t expires_unix,
                            const v1::SigningKey& key) {
  if (key.id().empty() || key.id().size() > kMaxKeyIdBytes || room_id.empty() ||
      room_id.size() > kMaxRoomIdBytes) {
    return "";
  }
  std::string payload;
  payload.push_back(static_cast<char>(kKind));
  for (int shift = 56; shift >= 0; shift -= 8) {
    payload.push_back(static_cast<char>(static_cast<uint64_t>(expires_unix) >> shift));
  }
  payload.push_back(static_cast<char>(key.id().size()));
  payload.append(key.id());
  payload.push_back(static_cast<char>(room_id.size()));
  payload.append(room_id);
  auto mac = SignWithKey(key, payload);
  payload.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  return absl::WebSafeBase64Escape(payload);
}

bool VerifyBypassToken(std::string_view token, std::string_view room_id, const Keyring& keys,
                       int64_t now_unix) {
  if (token.empty() || token.size() > kMaxTokenChars) return false;
  std::string raw;
  if (!absl::WebSafeBase64Unescape(AbslView(token), &raw)) return false;
  std::string_view in(raw);
  // kind, expires, key_id length, room_id length, mac.
  constexpr size_t kFixedBytes = 1 + 8 + 1 + 1 + kMacBytes;
  if (in.size() < kFixedBytes || static_cast<uint8_t>(in[0]) != kKind) return false;
  uint64_t expires = 0;
  for (size_t i = 1; i <= 8; ++i) expires = (expires << 8) | static_cast<uint8_t>(in[i]);
  size_t key_length = static_cast<uint8_t>(in[9]);
  // Every length is checked against what is left before it is used.
  if (in.size() < kFixedBytes + key_length) return false;
  std::string_view key_id = in.substr(10, key_length);
  size_t room_length = static_cast<uint8_t>(in[10 + key_length]);
  if (in.size() != kFixedBytes + key_length + room_length) return false;
  std::string_view token_room = in.substr(11 + key_length, room_length);
  std::string_view payload = in.substr(0, in.size() - kMacBytes);

  const v1::SigningKey* key = keys.Find(key_id);
  if (key == nullptr) return false;
  auto mac = SignWithKey(*key, payload);
  if (CRYPTO_memcmp(mac.data(), in.data() + payload.size(), kMacBytes) != 0) return false;
  if (key->retire_unix() != 0 && key->retire_unix() <= now_unix) return false;
  return token_room == room_id && now_unix < static_cast<int64_t>(expires);
}

absl::StatusOr<BypassRules> BypassRules::Compile(const v1::Room& room) {
  BypassRules rules;
  rules.room_id_ = room.id();
  for (int i = 0; i < room.bypass_size(); ++i) {
    const v1::BypassRule& rule = room.bypass(i);
    std::string field = absl::StrCat("room.bypass[", i, "]");
    switch (rule.rule_case()) {
      case v1::BypassRule::kPathPrefix:
        // An empty prefix would let every request skip the queue.
        if (rule.path_prefix().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(field, ".path_prefix: is empty"));
        }
        rules.path_prefixes_.push_back(rule.path_prefix());
        break;
      case v1::BypassRule::kHeader:
        if (rule.header().name().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(field, ".header.name: is required"));
        }
        rules.headers_.emplace_back(absl::AsciiStrToLower(rule.header().name()),
                                    rule.header().value());
        break;
      case v1::BypassRule::kClientCidr: {
        auto error = [&](absl::string_view reason) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ".client_cidr: ", reason, " (got '", rule.client_cidr(), "')"));
        };
        const std::string& text = rule.client_cidr();
        size_t slash = text.find('/');
        if (slash == std::string::npos) {
          return error("must be address/prefix, as in 10.0.0.0/8");
        }
        Cidr cidr;
        bool is_v4 = false;
        std::string_view address = std::string_view(text).substr(0, slash);
        if (address.find('%') != std::string_view::npos ||
            !ParseAddress(address, &cidr.network, &is_v4)) {
          return error("not an IPv4 or IPv6 address");
        }
        int max_bits = is_v4 ? 32 : 128;
        int bits = 0;
        if (!absl::SimpleAtoi(absl::string_view(text).substr(slash + 1), &bits) || bits < 0 ||
            bits > max_bits) {
          return error(absl::StrCat("prefix length must be 0-", max_bits));
        }
        cidr.bits = is_v4 ? bits + 96 : bits;
        // Clear the host bits so "10.1.2.3/8" means 10.0.0.0/8.
        for (int b = cidr.bits; b < 128; ++b) {
          cidr.network[b / 8] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
        }
        rules.cidrs_.push_back(cidr);
        break;
      }
      case v1::BypassRule::kSignedToken:
        rules.signed_token_ = rules.signed_token_ || rule.signed_token();
        break;
      case v1::BypassRule::RULE_NOT_SET:
        return absl::InvalidArgumentError(absl::StrCat(
            field, ": names no rule (path_prefix, header, client_cidr or signed_token)"));
    }
  }
  return rules;
}

bool BypassRules::Matches(const RequestView& request, const Keyring* keys, int64_t now_unix) const {
  for (const std::string& prefix : path_prefixes_) {
    if (request.path.substr(0, prefix.size()) == prefix) return true;
  }
  for (const auto& [name, value] : headers_) {
    std::optional<std::string_view> got = HeaderValue(request, name);
    if (got.has_value() && *got == value) return true;
  }
  if (!cidrs_.empty() && MatchesCidr(request.client_ip)) return true;
  return signed_token_ && keys != nullptr && MatchesToken(request, *keys, now_unix);
}

bool BypassRules::MatchesCidr(std::string_view client_ip) const {
  std::array<uint8_t, 16> address;
  bool is_v4 = false;
  if (!ParseAddress(client_ip, &address, &is_v4)) return false;
  for (const Cidr& cidr : cidrs_) {
    if (InBlock(address, cidr.network, cidr.bits)) return true;
  }
  return false;
}

bool BypassRules::MatchesToken(const RequestView& request, const Keyring& keys,
                               int64_t now_unix) const {
  if (request.header) {
    std::optional<std::string_view> token = request.header(kBypassHeader);
    if (token.has_value() && VerifyBypassToken(*token, room_id_, keys, now_unix)) return true;
  }
  std::optional<std::string_view> token = QueryParameter(request.target, kBypassQueryParameter);
  return token.has_value() && VerifyBypassToken(*token, room_id_, keys, now_unix);
}

}  // namespace anteroom::agent
