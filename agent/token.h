#pragma once

// The per-room cookie that holds a user's place: the agent keeps no per-user state, so
// everything the admission logic needs to know about a returning user is in here, signed with
// HMAC-SHA-256 under a key from the Keyring. The binary layout is documented in token.cc.
//
// Also the cookie plumbing around it: the cookie's name, its Set-Cookie header and finding it
// in a Cookie header.
//
// Thread-safe: the functions keep no state.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/keyring.h"
#include "anteroom/v1/room.pb.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

using VisitorId = std::array<uint8_t, 16>;

enum class TokenState : uint8_t {
  kQueued = 1,  // Waiting: `bucket` is the place in line.
  kActive = 2,  // Admitted: the session runs until `expiry_slot`.
};

struct Token {
  std::string room_id;
  VisitorId visitor_id{};
  TokenState state = TokenState::kQueued;
  // Arrival second (floor(arrival) in coordinator time); 0 = admitted on arrival.
  int64_t bucket = 0;
  // The last presence epoch this user was counted in.
  int64_t epoch = 0;
  // Active: session expiry, Unix seconds, a multiple of common::kSlotSeconds. Queued: 0.
  int64_t expiry_slot = 0;
  // Active: Unix seconds the session began, for the room's hard cap; 0 = not known (or the
  // room has no cap: such a token is written in the older layout, for older agents).
  int64_t admitted_unix = 0;
  // The key that signed the token. Set by DecodeToken; EncodeToken takes it from the key.
  std::string key_id;

  friend bool operator==(const Token&, const Token&) = default;
};

// Returns the cookie value for `token` signed with `key`: base64url without padding, so it
// needs no quoting in a cookie or a URL. `token.key_id` is ignored; `key.id()` is written.
// REQUIRES: key.secret() is 32 bytes and key.id() 1-32 bytes (Keyring guarantees both);
// token.room_id is 1-255 bytes (room validation allows 1-64). A token that breaks them does
// not decode.
std::string EncodeToken(const Token& token, const v1::SigningKey& key);

// Why DecodeToken rejected a cookie. The agent counts rejections by these.
enum class TokenError {
  kMalformed,           // Not base64url, truncated, trailing bytes, impossible field values.
  kUnsupportedVersion,  // Written by a newer or older agent.
  kUnknownKey,          // The key id is not in the keyring.
  kBadSignature,        // The MAC does not match: forged or corrupted.
  kRetiredKey,          // Signed by a key whose retire_unix has passed.
  kWrongRoom,           // A valid token of another room.
  kExpired,             // An active token whose session ended.
};

// Parses and verifies `cookie_value` against `keys`, checks it belongs to `expected_room_id`
// and, for an active token, that expiry_slot > now_unix. On success the Token has key_id set.
// On failure returns InvalidArgument whose message is TokenErrorMessage(reason); never crashes
// or reads out of bounds on any input. A queued token does not expire here: the caller judges
// its bucket and epoch.
absl::StatusOr<Token> DecodeToken(std::string_view cookie_value, std::string_view expected_room_id,
                                  const Keyring& keys, int64_t now_unix);

// The fixed message of each error ("invalid token: bad signature", ...).
std::string_view TokenErrorMessage(TokenError error);
// A short label for metrics and logs ("bad_signature", ...).
std::string_view TokenErrorLabel(TokenError error);
// The reason behind a status returned by DecodeToken; nullopt for OK or any other status.
std::optional<TokenError> TokenErrorOf(const absl::Status& status);

// ---- Visitor ids ----------------------------------------------------------------------------
// A visitor id is 128 random bits. The derived numbers below are pure functions of it, so every
// agent computes the same ones for the same user.

// A fresh random id (OpenSSL RAND_bytes).
VisitorId NewVisitorId();

// Uniform in [0, 1): splits the FIFO marker's boundary bucket (SyncResponse Marker.fraction).
double VisitorFraction(const VisitorId& visitor);

// Uniform in [0, 1) and independent for each `epoch`: a RANDOM room's draw for one refresh
// (Marker.probability), so a user unlucky in one epoch is not unlucky in every one.
double VisitorEpochFraction(const VisitorId& visitor, int64_t epoch);

// A uniform 64-bit lottery number: orders prequeue users when the event shuffles.
uint64_t VisitorLottery(const VisitorId& visitor);

// ---- Cookie plumbing ------------------------------------------------------------------------

// "anteroom_" + room.cookie().name_suffix(), or + room.id() when the suffix is empty.
std::string CookieName(const v1::Room& room);

// A Set-Cookie header value: "<name>=<value>; Path=/; Max-Age=<n>[; Domain=<d>][; Secure];
// HttpOnly; SameSite=<Lax|Strict|None>". SameSite defaults to Lax. A max_age_seconds <= 0
// writes Max-Age=0, which deletes the cookie.
// REQUIRES: `value` holds only cookie-safe characters (EncodeToken output, or empty).
std::string SetCookieValue(const v1::Room& room, std::string_view value, int64_t max_age_seconds);

// The value of the cookie `name` in a Cookie header ("a=1; b=2"), as a view into
// `cookie_header`, with surrounding whitespace and one pair of double quotes removed. When the
// name repeats, the first wins. Names compare case-sensitively, as browsers send them. Pairs
// without '=' are skipped; nullopt when the cookie is absent. Safe on any input.
std::optional<std::string_view> FindCookie(std::string_view cookie_header, std::string_view name);

}  // namespace anteroom::agent
