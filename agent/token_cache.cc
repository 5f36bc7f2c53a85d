#include "agent/token_cache.h"

#include "common/rendezvous_hash.h"

namespace anteroom::agent {

TokenCache::TokenCache(size_t slots) {
  for (Shard& shard : shards_) shard.entries.resize(std::max<size_t>(1, slots / kShards));
}

absl::StatusOr<Token> TokenCache::Decode(std::string_view cookie_value, std::string_view room_id,
                                         const Keyring& keys, int64_t now_unix,
                                         std::string* renewed_cookie) {
  renewed_cookie->clear();
  const uint64_t hash = common::StableHash64(cookie_value);
  Shard& shard = shards_[hash % kShards];
  const size_t index = (hash / kShards) % shard.entries.size();
  {
    std::lock_guard lock(shard.mu);
    const Entry& e = shard.entries[index];
    if (!e.cookie.empty() && e.cookie == cookie_value) {
      const v1::SigningKey* key = keys.Find(e.token.key_id);
      const bool key_ok =
          key != nullptr && (key->retire_unix() == 0 || key->retire_unix() > now_unix);
      const bool live = e.token.state != TokenState::kActive || e.token.expiry_slot > now_unix;
      if (key_ok && live && e.token.room_id == room_id) {
        *renewed_cookie = e.renewed_cookie;
        return e.token;
      }
      // Anything else: let DecodeToken give the precise error.
    }
  }
  absl::StatusOr<Token> token = DecodeToken(cookie_value, room_id, keys, now_unix);
  if (token.ok()) {
    std::lock_guard lock(shard.mu);
    Entry& e = shard.entries[index];
    e.cookie.assign(cookie_value);
    e.token = *token;
    e.renewed_cookie.clear();
  }
  return token;
}

void TokenCache::Renewed(std::string_view cookie_value, const Token& renewed,
                         std::string renewed_cookie) {
  const uint64_t hash = common::StableHash64(cookie_value);
  Shard& shard = shards_[hash % kShards];
  std::lock_guard lock(shard.mu);
  Entry& e = shard.entries[(hash / kShards) % shard.entries.size()];
  e.cookie.assign(cookie_value);
  e.token = renewed;
  e.renewed_cookie = std::move(renewed_cookie);
}

}  // namespace anteroom::agent
