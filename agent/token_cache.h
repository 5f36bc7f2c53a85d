#pragma once

// TokenCache: remembers cookies that already passed DecodeToken, so a user's repeated requests
// (every page and asset, until the session renews) skip the base64 and HMAC work. A hit compares
// the whole cookie value, and still checks the key (not retired), the room and the expiry, so a
// cached answer is always the answer DecodeToken would give.
//
// It also remembers renewals: a client that sends an old cookie again after its session moved
// to a later slot (a replay, or a browser that lost the response) gets the renewed token and
// cookie back, so the move is counted once, not once per request.
//
// Thread-safe: sharded, one short lock per lookup.

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/keyring.h"
#include "agent/token.h"

namespace anteroom::agent {

class TokenCache {
 public:
  // `slots` entries in all, direct-mapped by a hash of the cookie value.
  explicit TokenCache(size_t slots = 16384);

  // DecodeToken with memory: same results, same errors. When this cookie was renewed, returns
  // the renewed token and sets `*renewed_cookie` to its cookie value (else leaves it empty).
  absl::StatusOr<Token> Decode(std::string_view cookie_value, std::string_view room_id,
                               const Keyring& keys, int64_t now_unix, std::string* renewed_cookie);

  // Records that `cookie_value` was renewed into `renewed` (encoded as `renewed_cookie`).
  void Renewed(std::string_view cookie_value, const Token& renewed, std::string renewed_cookie);

 private:
  struct Entry {
    std::string cookie;  // Empty = unused.
    Token token;
    std::string renewed_cookie;  // Set when `token` is the renewal of `cookie`.
  };
  struct Shard {
    std::mutex mu;
    std::vector<Entry> entries;
  };
  static constexpr size_t kShards = 16;

  std::array<Shard, kShards> shards_;
};

}  // namespace anteroom::agent
