// Token layout. The cookie value is base64url (RFC 4648 section 5, no padding) of:
//
//   token       := version state visitor_id bucket epoch expiry_slot [admitted] key_id room_id
//                  mac
//   version     := 0x01 | 0x02            admitted is present in 0x02 only; 0x01 is written
//                                         whenever admitted is 0, so older agents read it
//   state       := 0x01 (queued) | 0x02 (active)
//   visitor_id  := byte[16]
//   bucket      := svarint
//   epoch       := svarint
//   expiry_slot := svarint
//   admitted    := svarint                Unix seconds the session began; 0 = not known
//   key_id      := string                 1..32 bytes
//   room_id     := string                 1..255 bytes
//   mac         := byte[32]               HMAC-SHA-256(key secret, every byte before mac)
//
//   string      := length:varint byte[length]
//   svarint     := varint of zigzag(n) = (n << 1) ^ (n >> 63), so small negatives stay short
//   varint      := unsigned LEB128: 7 bits per byte, least significant group first, the high
//                  bit set on every byte but the last; at most 10 bytes
//
// Nothing follows mac. With today's dates, a 2-byte key id and a 4-byte room id a token is
// 69-77 bytes, 92-103 characters: well under the 4 KB browsers allow a cookie.
// The version comes first so a future layout is told apart before anything else is parsed;
// version 0x01 tokens (written before admitted existed) still decode, with admitted 0.

#include "agent/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/rendezvous_hash.h"

namespace anteroom::agent {
namespace {

constexpr uint8_t kVersion = 2;
constexpr uint8_t kVersionWithoutAdmitted = 1;
constexpr size_t kMacBytes = 32;
constexpr size_t kMaxVarintBytes = 10;
constexpr size_t kMaxRoomIdBytes = 255;
// Far above any token we write (~110 characters); refuses to decode a hostile megabyte.
constexpr size_t kMaxCookieChars = 1024;

// Seeds keep the derived numbers of one visitor independent of each other.
constexpr uint64_t kFractionSeed = 0x616e746572666a31ULL;
constexpr uint64_t kEpochSeed = 0x616e746572657031ULL;
constexpr uint64_t kLotterySeed = 0x616e7465726c7431ULL;

// ---- Writing ----

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutSvarint(int64_t v, std::string* out) {
  PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63), out);
}

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

// ---- Reading: every Get checks the bytes left before touching them ----

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool GetByte(uint8_t* out) {
    if (in_.empty()) return false;
    *out = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }

  bool GetBytes(size_t n, std::string_view* out) {
    if (in_.size() < n) return false;
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }

  bool GetVarint(uint64_t* out) {
    uint64_t v = 0;
    for (size_t i = 0; i < kMaxVarintBytes; ++i) {
      uint8_t b;
      if (!GetByte(&b)) return false;
      // The tenth byte holds bit 63 only.
      if (i == kMaxVarintBytes - 1 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  }

  bool GetSvarint(int64_t* out) {
    uint64_t u;
    if (!GetVarint(&u)) return false;
    *out = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }

  bool GetString(size_t min, size_t max, std::string_view* out) {
    uint64_t n;
    return GetVarint(&n) && n >= min && n <= max && GetBytes(static_cast<size_t>(n), out);
  }

  bool empty() const { return in_.empty(); }

 private:
  std::string_view in_;
};

using Mac = std::array<uint8_t, kMacBytes>;

// Debian's abseil has its own string_view type.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Fail(TokenError error) {
  return absl::InvalidArgumentError(AbslView(TokenErrorMessage(error)));
}

constexpr TokenError kAllErrors[] = {
    TokenError::kMalformed,    TokenError::kUnsupportedVersion, TokenError::kUnknownKey,
    TokenError::kBadSignature, TokenError::kRetiredKey,         TokenError::kWrongRoom,
    TokenError::kExpired,
};

double ToUnitInterval(uint64_t h) {
  // The top 53 bits fill a double's mantissa exactly: the result is < 1.
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

std::string_view VisitorBytes(const VisitorId& visitor) {
  return std::string_view(reinterpret_cast<const char*>(visitor.data()), visitor.size());
}

}  // namespace

std::string EncodeToken(const Token& token, const v1::SigningKey& key) {
  std::string payload;
  payload.reserve(96);
  // Version 1 unless the token needs the newer field: agents of an older release read it.
  const bool v2 = token.admitted_unix != 0;
  payload.push_back(static_cast<char>(v2 ? kVersion : kVersionWithoutAdmitted));
  payload.push_back(static_cast<char>(token.state));
  payload.append(VisitorBytes(token.visitor_id));
  PutSvarint(token.bucket, &payload);
  PutSvarint(token.epoch, &payload);
  PutSvarint(token.expiry_slot, &payload);
  if (v2) PutSvarint(token.admitted_unix, &payload);
  PutString(key.id(), &payload);
  PutString(token.room_id, &payload);
  Mac mac = SignWithKey(key, payload);
  payload.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  return absl::WebSafeBase64Escape(payload);
}

absl::StatusOr<Token> DecodeToken(std::string_view cookie_value, std::string_view expected_room_id,
                                  const Keyring& keys, int64_t now_unix) {
  if (cookie_value.size() > kMaxCookieChars) return Fail(TokenError::kMalformed);
  std::string raw;
  if (!absl::WebSafeBase64Unescape(AbslView(cookie_value), &raw)) {
    return Fail(TokenError::kMalformed);
  }
  if (raw.empty()) return Fail(TokenError::kMalformed);
  const auto version_byte = static_cast<uint8_t>(raw[0]);
  if (version_byte != kVersion && version_byte != kVersionWithoutAdmitted) {
    return Fail(TokenError::kUnsupportedVersion);
  }
  if (raw.size() < kMacBytes) return Fail(TokenError::kMalformed);

  std::string_view payload(raw.data(), raw.size() - kMacBytes);
  std::string_view mac = std::string_view(raw).substr(payload.size());
  Reader in(payload);
  uint8_t version, state;
  std::string_view visitor, key_id, room_id;
  Token token;
  if (!in.GetByte(&version) || !in.GetByte(&state) ||
      !in.GetBytes(token.visitor_id.size(), &visitor) || !in.GetSvarint(&token.bucket) ||
      !in.GetSvarint(&token.epoch) || !in.GetSvarint(&token.expiry_slot) ||
      (version == kVersion && !in.GetSvarint(&token.admitted_unix)) ||
      !in.GetString(1, kMaxKeyIdBytes, &key_id) || !in.GetString(1, kMaxRoomIdBytes, &room_id) ||
      !in.empty()) {
    return Fail(TokenError::kMalformed);
  }
  if ((state != static_cast<uint8_t>(TokenState::kQueued) &&
       state != static_cast<uint8_t>(TokenState::kActive)) ||
      token.admitted_unix < 0) {
    return Fail(TokenError::kMalformed);
  }

  const v1::SigningKey* key = keys.Find(key_id);
  if (key == nullptr) return Fail(TokenError::kUnknownKey);
  Mac expected = SignWithKey(*key, payload);
  if (CRYPTO_memcmp(expected.data(), mac.data(), kMacBytes) != 0) {
    return Fail(TokenError::kBadSignature);
  }
  // Checked only once the token is known to be ours: before that its fields mean nothing.
  if (key->retire_unix() != 0 && key->retire_unix() <= now_unix) {
    return Fail(TokenError::kRetiredKey);
  }
  if (room_id != expected_room_id) return Fail(TokenError::kWrongRoom);
  token.state = static_cast<TokenState>(state);
  if (token.state == TokenState::kActive && token.expiry_slot <= now_unix) {
    return Fail(TokenError::kExpired);
  }
  token.room_id = std::string(room_id);
  token.key_id = std::string(key_id);
  std::memcpy(token.visitor_id.data(), visitor.data(), token.visitor_id.size());
  return token;
}

std::string_view TokenErrorMessage(TokenError error) {
  switch (error) {
    case TokenError::kMalformed:
      return "invalid token: malformed";
    case TokenError::kUnsupportedVersion:
      return "invalid token: unsupported version";
    case TokenError::kUnknownKey:
      return "invalid token: unknown key";
    case TokenError::kBadSignature:
      return "invalid token: bad signature";
    case TokenError::kRetiredKey:
      return "invalid token: retired key";
    case TokenError::kWrongRoom:
      return "invalid token: wrong room";
    case TokenError::kExpired:
      return "invalid token: expired";
  }
  return "invalid token";
}

std::string_view TokenErrorLabel(TokenError error) {
  switch (error) {
    case TokenError::kMalformed:
      return "malformed";
    case TokenError::kUnsupportedVersion:
      return "unsupported_version";
    case TokenError::kUnknownKey:
      return "unknown_key";
    case TokenError::kBadSignature:
      return "bad_signature";
    case TokenError::kRetiredKey:
      return "retired_key";
    case TokenError::kWrongRoom:
      return "wrong_room";
    case TokenError::kExpired:
      return "expired";
  }
  return "invalid";
}

std::optional<TokenError> TokenErrorOf(const absl::Status& status) {
  if (status.code() != absl::StatusCode::kInvalidArgument) return std::nullopt;
  for (TokenError error : kAllErrors) {
    if (status.message() == AbslView(TokenErrorMessage(error))) return error;
  }
  return std::nullopt;
}

VisitorId NewVisitorId() {
  VisitorId id{};
  if (RAND_bytes(id.data(), static_cast<int>(id.size())) != 1) {
    // Only a broken OpenSSL gets here. Ids need to be unique and uniform, not secret (the MAC
    // protects the token), so the OS generator will do rather than failing the request.
    std::random_device device;
    for (size_t i = 0; i < id.size(); i += 4) {
      uint32_t r = device();
      std::memcpy(id.data() + i, &r, 4);
    }
  }
  return id;
}

double VisitorFraction(const VisitorId& visitor) {
  return ToUnitInterval(common::StableHash64(VisitorBytes(visitor), kFractionSeed));
}

double VisitorEpochFraction(const VisitorId& visitor, int64_t epoch) {
  // Little-endian whatever the host, so every agent draws the same number.
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(static_cast<uint64_t>(epoch) >> (8 * i));
  uint64_t per_visitor = common::StableHash64(VisitorBytes(visitor), kEpochSeed);
  return ToUnitInterval(common::StableHash64(std::string_view(bytes, sizeof(bytes)), per_visitor));
}

uint64_t VisitorLottery(const VisitorId& visitor) {
  return common::StableHash64(VisitorBytes(visitor), kLotterySeed);
}

std::string CookieName(const v1::Room& room) {
  return absl::StrCat(
      "anteroom_", room.cookie().name_suffix().empty() ? room.id() : room.cookie().name_suffix());
}

std::string SetCookieValue(const v1::Room& room, std::string_view value, int64_t max_age_seconds) {
  const v1::CookieSettings& c = room.cookie();
  std::string out = absl::StrCat(CookieName(room), "=", AbslView(value),
                                 "; Path=/; Max-Age=", max_age_seconds > 0 ? max_age_seconds : 0);
  if (!c.domain().empty()) absl::StrAppend(&out, "; Domain=", c.domain());
  if (c.secure()) out.append("; Secure");
  out.append("; HttpOnly");
  switch (c.same_site()) {
    case v1::SAME_SITE_STRICT:
      out.append("; SameSite=Strict");
      break;
    case v1::SAME_SITE_NONE:
      out.append("; SameSite=None");
      break;
    default:
      out.append("; SameSite=Lax");
      break;
  }
  return out;
}

std::optional<std::string_view> FindCookie(std::string_view cookie_header, std::string_view name) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::string_view rest = cookie_header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return std::nullopt;
}

}  // namespace anteroom::agent
