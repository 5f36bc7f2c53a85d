#pragma once

// A room's bypass rules: requests that skip the queue and are not counted (static assets,
// health checks, the site's own monitoring, partners holding a signed bypass token).
//
// Thread-safe: immutable after Compile.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/keyring.h"
#include "agent/request_view.h"
#include "anteroom/v1/room.pb.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

// Where a signed bypass token is looked for: this request header, then this query parameter.
inline constexpr std::string_view kBypassHeader = "x-anteroom-bypass";
inline constexpr std::string_view kBypassQueryParameter = "__anteroom_bypass";

// Returns a bypass token for `room_id` valid until `expires_unix` (exclusive), signed with
// `key`: base64url without padding, safe in a header and a URL. Its layout is in bypass.cc; it
// can never pass for a cookie token, nor a cookie token for it.
// REQUIRES: key.secret() is 32 bytes and key.id() at most 32 bytes (Keyring guarantees both);
// room_id at most 255 bytes (room validation allows 64). Returns "" when they are not met.
std::string MakeBypassToken(std::string_view room_id, int64_t expires_unix,
                            const v1::SigningKey& key);

// Whether `token` is a bypass token for `room_id` that `keys` verifies, signed by a key not
// retired at `now_unix`, with now_unix < its expiry. Safe on any input.
bool VerifyBypassToken(std::string_view token, std::string_view room_id, const Keyring& keys,
                       int64_t now_unix);

class BypassRules {
 public:
  // No rules: Matches is always false.
  BypassRules() = default;

  // Compiles room.bypass() once (CIDRs parsed, header names lower-cased).
  // Returns InvalidArgument naming the rule ("room.bypass[2].client_cidr: ...") for an empty
  // path prefix, an empty header name, an address or prefix length that does not parse, or a
  // rule that names nothing. A `signed_token: false` rule is no rule and is ignored.
  static absl::StatusOr<BypassRules> Compile(const v1::Room& room);

  // Whether any rule lets `request` skip the queue:
  //   path_prefix   request.path starts with it (plainly: "/static" also covers "/staticx")
  //   header        the header (name case-insensitive) is present with exactly that value
  //   client_cidr   request.client_ip lies in the block; an IPv4-mapped IPv6 address
  //                 ("::ffff:192.0.2.1") matches IPv4 blocks, brackets and zone ids are ignored
  //   signed_token  the kBypassHeader header or kBypassQueryParameter carries a token that
  //                 VerifyBypassToken accepts for this room
  // Does not allocate unless a token is checked.
  bool Matches(const RequestView& request, const Keyring& keys, int64_t now_unix) const {
    return Matches(request, &keys, now_unix);
  }
  // As above; with `keys` null (no keys yet) only the signed_token rule cannot match.
  bool Matches(const RequestView& request, const Keyring* keys, int64_t now_unix) const;

  bool empty() const {
    return path_prefixes_.empty() && headers_.empty() && cidrs_.empty() && !signed_token_;
  }

 private:
  // Both families in one form: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), its prefix + 96.
  struct Cidr {
    std::array<uint8_t, 16> network{};  // Host bits cleared.
    int bits = 0;
  };

  bool MatchesCidr(std::string_view client_ip) const;
  bool MatchesToken(const RequestView& request, const Keyring& keys, int64_t now_unix) const;

  std::string room_id_;
  std::vector<std::string> path_prefixes_;
  std::vector<std::pair<std::string, std::string>> headers_;  // Lower-case name, exact value.
  std::vector<Cidr> cidrs_;
  bool signed_token_ = false;
};

}  // namespace anteroom::agent
