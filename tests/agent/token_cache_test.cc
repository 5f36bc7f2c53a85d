#include "agent/token_cache.h"

#include <gtest/gtest.h>

namespace anteroom::agent {
namespace {

v1::SigningKey Key(const std::string& id, int64_t retire = 0) {
  v1::SigningKey k;
  k.set_id(id);
  k.set_secret(std::string(32, id[0]));
  k.set_retire_unix(retire);
  return k;
}

Token Active(int64_t expiry_slot) {
  Token t;
  t.room_id = "shop";
  t.visitor_id = NewVisitorId();
  t.state = TokenState::kActive;
  t.expiry_slot = expiry_slot;
  return t;
}

TEST(TokenCacheTest, AnswersLikeDecodeTokenBeforeAndAfterCaching) {
  TokenCache cache(64);
  Keyring keys = *Keyring::Make({Key("a")});
  const std::string cookie = EncodeToken(Active(1000), keys.Current());
  std::string renewed;
  for (int i = 0; i < 3; ++i) {  // Miss, then hits.
    auto t = cache.Decode(cookie, "shop", keys, 900, &renewed);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->expiry_slot, 1000);
  }
  // A hit still checks the room, the expiry and the key.
  EXPECT_EQ(TokenErrorOf(cache.Decode(cookie, "other", keys, 900, &renewed).status()),
            TokenError::kWrongRoom);
  EXPECT_EQ(TokenErrorOf(cache.Decode(cookie, "shop", keys, 1000, &renewed).status()),
            TokenError::kExpired);
  Keyring retired = *Keyring::Make({Key("a", 950), Key("b")});
  EXPECT_EQ(TokenErrorOf(cache.Decode(cookie, "shop", retired, 960, &renewed).status()),
            TokenError::kRetiredKey);
  Keyring other = *Keyring::Make({Key("b")});
  EXPECT_EQ(TokenErrorOf(cache.Decode(cookie, "shop", other, 900, &renewed).status()),
            TokenError::kUnknownKey);
}

TEST(TokenCacheTest, NeverCachesWhatFailsAndComparesTheWholeCookie) {
  TokenCache cache(1);  // Every cookie lands in the same slot.
  std::string renewed;
  Keyring keys = *Keyring::Make({Key("a")});
  const std::string good = EncodeToken(Active(1000), keys.Current());
  std::string forged = good;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(cache.Decode(good, "shop", keys, 900, &renewed).ok());
  EXPECT_FALSE(cache.Decode(forged, "shop", keys, 900, &renewed).ok());
  EXPECT_FALSE(cache.Decode(forged, "shop", keys, 900, &renewed).ok());
  EXPECT_TRUE(cache.Decode(good, "shop", keys, 900, &renewed).ok());
}

TEST(TokenCacheTest, AReplayedOldCookieGetsTheSameRenewal) {
  TokenCache cache(64);
  Keyring keys = *Keyring::Make({Key("a")});
  const std::string old_cookie = EncodeToken(Active(1000), keys.Current());
  std::string renewed;
  ASSERT_TRUE(cache.Decode(old_cookie, "shop", keys, 900, &renewed).ok());
  EXPECT_TRUE(renewed.empty());
  Token later = Active(1300);
  later.key_id = "a";
  const std::string new_cookie = EncodeToken(later, keys.Current());
  cache.Renewed(old_cookie, later, new_cookie);
  auto t = cache.Decode(old_cookie, "shop", keys, 950, &renewed);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expiry_slot, 1300);
  EXPECT_EQ(renewed, new_cookie);
}

}  // namespace
}  // namespace anteroom::agent
