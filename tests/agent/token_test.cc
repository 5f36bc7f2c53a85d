#include "agent/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"

namespace anteroom::agent {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'700'000'000;

v1::SigningKey Key(const std::string& id, char fill, int64_t retire = 0) {
  v1::SigningKey key;
  key.set_id(id);
  key.set_secret(std::string(kSecretBytes, fill));
  key.set_created_unix(1);
  key.set_retire_unix(retire);
  return key;
}

Keyring MakeKeyring(std::vector<v1::SigningKey> keys) {
  auto keyring = Keyring::Make(std::move(keys));
  EXPECT_TRUE(keyring.ok()) << keyring.status();
  return *std::move(keyring);
}

Token QueuedToken() {
  Token t;
  t.room_id = "shop";
  for (size_t i = 0; i < t.visitor_id.size(); ++i) t.visitor_id[i] = static_cast<uint8_t>(i * 17);
  t.state = TokenState::kQueued;
  t.bucket = kNow - 30;
  t.epoch = kNow / 20;
  t.expiry_slot = 0;
  return t;
}

Token ActiveToken() {
  Token t = QueuedToken();
  t.state = TokenState::kActive;
  t.expiry_slot = kNow + 300;
  return t;
}

std::string Raw(const std::string& cookie) {
  std::string raw;
  EXPECT_TRUE(absl::WebSafeBase64Unescape(cookie, &raw));
  return raw;
}

std::string Cookie(const std::string& raw) { return absl::WebSafeBase64Escape(raw); }

class TokenTest : public ::testing::Test {
 protected:
  TokenTest() : keys_(MakeKeyring({Key("k1", 'a'), Key("k0", 'b', kNow + 60)})) {}

  absl::StatusOr<Token> Decode(std::string_view cookie, std::string_view room = "shop") {
    return DecodeToken(cookie, room, keys_, kNow);
  }

  std::optional<TokenError> ErrorOf(std::string_view cookie, std::string_view room = "shop") {
    auto token = Decode(cookie, room);
    EXPECT_FALSE(token.ok()) << "decoded: " << cookie;
    return TokenErrorOf(token.status());
  }

  Keyring keys_;
};

TEST_F(TokenTest, RoundTripsQueuedAndActiveTokens) {
  for (const Token& original : {QueuedToken(), ActiveToken()}) {
    auto decoded = Decode(EncodeToken(original, keys_.Current()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    Token expected = original;
    expected.key_id = "k1";
    EXPECT_EQ(*decoded, expected);
  }
}

TEST_F(TokenTest, RoundTripsExtremeValues) {
  Token t = ActiveToken();
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{63}, int64_t{-64}, int64_t{64},
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    t.bucket = v;
    t.epoch = v;
    t.expiry_slot = std::numeric_limits<int64_t>::max() - (v & 0xff);
    auto decoded = Decode(EncodeToken(t, keys_.Current()));
    ASSERT_TRUE(decoded.ok()) << v << ": " << decoded.status();
    EXPECT_EQ(decoded->bucket, v);
    EXPECT_EQ(decoded->epoch, v);
    EXPECT_EQ(decoded->expiry_slot, t.expiry_slot);
  }
  t.room_id = std::string(64, 'r');
  auto decoded = DecodeToken(EncodeToken(t, keys_.Current()), t.room_id, keys_, kNow);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->room_id, t.room_id);
}

TEST_F(TokenTest, KeyIdComesFromTheSigningKey) {
  Token t = QueuedToken();
  t.key_id = "ignored";
  auto decoded = Decode(EncodeToken(t, *keys_.Find("k0")));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->key_id, "k0");
}

TEST_F(TokenTest, EncodingIsCookieSafeAndShort) {
  std::string cookie = EncodeToken(ActiveToken(), keys_.Current());
  for (char c : cookie) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  }
  EXPECT_LT(cookie.size(), 120u);
}

TEST_F(TokenTest, EveryBitFlipIsRejected) {
  std::string raw = Raw(EncodeToken(ActiveToken(), keys_.Current()));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = raw;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto error = ErrorOf(Cookie(tampered));
      ASSERT_TRUE(error.has_value()) << "byte " << i << " bit " << bit;
      if (i == 0) {
        EXPECT_EQ(*error, TokenError::kUnsupportedVersion);
      }
      // The MAC's own bytes decode cleanly and fail only the signature check.
      if (i >= raw.size() - 32) {
        EXPECT_EQ(*error, TokenError::kBadSignature) << i;
      }
    }
  }
}

TEST_F(TokenTest, EveryByteValueAtEveryPositionIsRejected) {
  std::string raw = Raw(EncodeToken(QueuedToken(), keys_.Current()));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int v = 0; v < 256; ++v) {
      if (static_cast<char>(v) == raw[i]) continue;
      std::string tampered = raw;
      tampered[i] = static_cast<char>(v);
      ASSERT_FALSE(Decode(Cookie(tampered)).ok()) << "byte " << i << " value " << v;
    }
  }
}

TEST_F(TokenTest, EveryTruncationIsRejected) {
  std::string cookie = EncodeToken(ActiveToken(), keys_.Current());
  for (size_t n = 0; n < cookie.size(); ++n) {
    EXPECT_TRUE(ErrorOf(cookie.substr(0, n)).has_value()) << n;
  }
  std::string raw = Raw(cookie);
  for (size_t n = 0; n < raw.size(); ++n) {
    auto error = ErrorOf(Cookie(raw.substr(0, n)));
    ASSERT_TRUE(error.has_value()) << n;
    if (n > 0) {
      EXPECT_EQ(*error, TokenError::kMalformed) << n;
    }
  }
}

TEST_F(TokenTest, TrailingBytesAreRejected) {
  std::string raw = Raw(EncodeToken(QueuedToken(), keys_.Current()));
  EXPECT_EQ(ErrorOf(Cookie(raw + "x")), TokenError::kMalformed);
  EXPECT_EQ(ErrorOf(Cookie(raw + std::string(40, '\0'))), TokenError::kMalformed);
}

TEST_F(TokenTest, RandomGarbageIsRejected) {
  std::mt19937_64 rng(42);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ;\"\\\x01\xff";
  for (int i = 0; i < 20000; ++i) {
    size_t length = rng() % 200;
    std::string text;
    for (size_t j = 0; j < length; ++j) text.push_back(alphabet[rng() % alphabet.size()]);
    EXPECT_FALSE(Decode(text).ok()) << text;
  }
  // Well-formed base64 of random bytes after a valid version byte: exercises the parser.
  for (int i = 0; i < 20000; ++i) {
    std::string raw(1, '\x01');
    size_t length = rng() % 120;
    for (size_t j = 0; j < length; ++j) raw.push_back(static_cast<char>(rng()));
    EXPECT_FALSE(Decode(Cookie(raw)).ok());
  }
}

TEST_F(TokenTest, HugeAndOverlongInputsAreMalformed) {
  EXPECT_EQ(ErrorOf(std::string(5000, 'A')), TokenError::kMalformed);
  EXPECT_EQ(ErrorOf(""), TokenError::kMalformed);
  // A varint that never ends.
  std::string raw = "\x01\x01" + std::string(16, 'v') + std::string(40, '\xff');
  EXPECT_EQ(ErrorOf(Cookie(raw)), TokenError::kMalformed);
}

TEST_F(TokenTest, ImpossibleStateIsMalformed) {
  Token t = QueuedToken();
  t.state = static_cast<TokenState>(3);
  EXPECT_EQ(ErrorOf(EncodeToken(t, keys_.Current())), TokenError::kMalformed);
}

TEST_F(TokenTest, OtherVersionIsUnsupported) {
  std::string raw = Raw(EncodeToken(QueuedToken(), keys_.Current()));
  raw[0] = 3;
  EXPECT_EQ(ErrorOf(Cookie(raw)), TokenError::kUnsupportedVersion);
  EXPECT_EQ(ErrorOf(Cookie("\x03")), TokenError::kUnsupportedVersion);
}

TEST_F(TokenTest, AdmittedTimeRoundTripsAndVersionOneTokensStillDecode) {
  Token t = QueuedToken();
  t.state = TokenState::kActive;
  t.expiry_slot = kNow + 300;
  t.admitted_unix = kNow - 42;
  auto back = Decode(EncodeToken(t, keys_.Current()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->admitted_unix, kNow - 42);
  // A cookie an older agent wrote (version 1: no admitted field) keeps its session.
  std::string payload;
  payload.push_back(1);
  payload.push_back(2);
  payload.append(reinterpret_cast<const char*>(t.visitor_id.data()), 16);
  auto zigzag = [&](int64_t v) {
    uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (u >= 0x80) {
      payload.push_back(static_cast<char>((u & 0x7f) | 0x80));
      u >>= 7;
    }
    payload.push_back(static_cast<char>(u));
  };
  zigzag(t.bucket);
  zigzag(t.epoch);
  zigzag(t.expiry_slot);
  payload.push_back(2);
  payload.append("k1");
  payload.push_back(4);
  payload.append("shop");
  const auto mac = SignWithKey(keys_.Current(), payload);
  payload.append(reinterpret_cast<const char*>(mac.data()), mac.size());
  auto old = Decode(Cookie(payload));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->state, TokenState::kActive);
  EXPECT_EQ(old->expiry_slot, kNow + 300);
  EXPECT_EQ(old->admitted_unix, 0);
}

TEST_F(TokenTest, UnknownKeyIsRejected) {
  std::string cookie = EncodeToken(QueuedToken(), Key("k9", 'a'));
  EXPECT_EQ(ErrorOf(cookie), TokenError::kUnknownKey);
}

TEST_F(TokenTest, KnownKeyIdWithAnotherSecretIsABadSignature) {
  std::string cookie = EncodeToken(QueuedToken(), Key("k1", 'z'));
  EXPECT_EQ(ErrorOf(cookie), TokenError::kBadSignature);
}

TEST_F(TokenTest, RetiredKeyIsRejectedOnceRetireTimePasses) {
  std::string cookie = EncodeToken(QueuedToken(), *keys_.Find("k0"));
  EXPECT_TRUE(DecodeToken(cookie, "shop", keys_, kNow + 59).ok());
  auto at = DecodeToken(cookie, "shop", keys_, kNow + 60);
  EXPECT_EQ(TokenErrorOf(at.status()), TokenError::kRetiredKey);
}

TEST_F(TokenTest, WrongRoomIsRejected) {
  std::string cookie = EncodeToken(QueuedToken(), keys_.Current());
  EXPECT_EQ(ErrorOf(cookie, "other"), TokenError::kWrongRoom);
  EXPECT_EQ(ErrorOf(cookie, "sho"), TokenError::kWrongRoom);
  EXPECT_EQ(ErrorOf(cookie, ""), TokenError::kWrongRoom);
}

TEST_F(TokenTest, ActiveTokenExpiresAtItsSlot) {
  Token t = ActiveToken();
  t.expiry_slot = kNow + 10;
  std::string cookie = EncodeToken(t, keys_.Current());
  EXPECT_TRUE(DecodeToken(cookie, "shop", keys_, kNow + 9).ok());
  auto at = DecodeToken(cookie, "shop", keys_, kNow + 10);
  EXPECT_EQ(TokenErrorOf(at.status()), TokenError::kExpired);
  auto after = DecodeToken(cookie, "shop", keys_, kNow + 1000);
  EXPECT_EQ(TokenErrorOf(after.status()), TokenError::kExpired);
}

TEST_F(TokenTest, QueuedTokenDoesNotExpire) {
  std::string cookie = EncodeToken(QueuedToken(), keys_.Current());
  EXPECT_TRUE(DecodeToken(cookie, "shop", keys_, kNow + 86400 * 365).ok());
}

TEST(TokenErrorTest, MessagesAndLabelsAreDistinctAndRecognised) {
  const TokenError all[] = {TokenError::kMalformed,  TokenError::kUnsupportedVersion,
                            TokenError::kUnknownKey, TokenError::kBadSignature,
                            TokenError::kRetiredKey, TokenError::kWrongRoom,
                            TokenError::kExpired};
  std::set<std::string_view> messages, labels;
  for (TokenError e : all) {
    messages.insert(TokenErrorMessage(e));
    labels.insert(TokenErrorLabel(e));
    absl::Status status = absl::InvalidArgumentError(
        absl::string_view(TokenErrorMessage(e).data(), TokenErrorMessage(e).size()));
    EXPECT_EQ(TokenErrorOf(status), e);
  }
  EXPECT_EQ(messages.size(), std::size(all));
  EXPECT_EQ(labels.size(), std::size(all));
  EXPECT_EQ(TokenErrorOf(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(TokenErrorOf(absl::InvalidArgumentError("something else")), std::nullopt);
  EXPECT_EQ(TokenErrorOf(absl::InternalError("invalid token: expired")), std::nullopt);
}

// ---- Visitor ids ----

TEST(VisitorTest, NewIdsDiffer) {
  std::set<VisitorId> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(NewVisitorId());
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(VisitorTest, DerivedNumbersAreStableAndInRange) {
  VisitorId id = NewVisitorId();
  EXPECT_EQ(VisitorFraction(id), VisitorFraction(id));
  EXPECT_EQ(VisitorEpochFraction(id, 7), VisitorEpochFraction(id, 7));
  EXPECT_EQ(VisitorLottery(id), VisitorLottery(id));
  VisitorId max;
  max.fill(0xff);
  VisitorId zero{};
  for (const VisitorId& v : {id, max, zero}) {
    EXPECT_GE(VisitorFraction(v), 0.0);
    EXPECT_LT(VisitorFraction(v), 1.0);
    for (int64_t epoch : {int64_t{-1}, int64_t{0}, int64_t{1}, int64_t{85'000'000}}) {
      EXPECT_GE(VisitorEpochFraction(v, epoch), 0.0);
      EXPECT_LT(VisitorEpochFraction(v, epoch), 1.0);
    }
  }
}

// Golden values: every agent, on every platform and release, must draw the same numbers for
// the same visitor, or users would be judged differently as they move between agents.
TEST(VisitorTest, DerivedNumbersAreFixedFunctionsOfTheId) {
  VisitorId id;
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(VisitorLottery(id), 4602236821510987280ULL);
  EXPECT_EQ(VisitorFraction(id), 0x1.907875e9ee1fp-4);
  EXPECT_EQ(VisitorEpochFraction(id, 85'000'000), 0x1.d073f1e40b5e3p-1);
  EXPECT_EQ(VisitorEpochFraction(id, -1), 0x1.822324dde2d1dp-1);
  VisitorId other = id;
  other[15] ^= 1;
  EXPECT_NE(VisitorLottery(id), VisitorLottery(other));
  EXPECT_NE(VisitorFraction(id), VisitorFraction(other));
}

TEST(VisitorTest, FractionsAreUniformAndIndependent) {
  constexpr int kUsers = 20000;
  constexpr int kBins = 10;
  int fraction_bins[kBins] = {};
  int epoch_bins[kBins] = {};
  int lottery_bins[kBins] = {};
  int both_low = 0;
  int epoch_both_low = 0;
  for (int i = 0; i < kUsers; ++i) {
    VisitorId id = NewVisitorId();
    double f = VisitorFraction(id);
    double e1 = VisitorEpochFraction(id, 1000);
    double e2 = VisitorEpochFraction(id, 1001);
    ++fraction_bins[static_cast<int>(f * kBins)];
    ++epoch_bins[static_cast<int>(e1 * kBins)];
    ++lottery_bins[(VisitorLottery(id) >> 60) & 7];
    if (f < 0.5 && e1 < 0.5) ++both_low;
    if (e1 < 0.5 && e2 < 0.5) ++epoch_both_low;
  }
  // Each bin expects 2000 with sd ~42; 250 is ~6 sd.
  for (int b = 0; b < kBins; ++b) {
    EXPECT_NEAR(fraction_bins[b], kUsers / kBins, 250) << b;
    EXPECT_NEAR(epoch_bins[b], kUsers / kBins, 250) << b;
  }
  for (int b = 0; b < 8; ++b) EXPECT_NEAR(lottery_bins[b], kUsers / 8, 300) << b;
  // Independent draws: a quarter of users are low in both.
  EXPECT_NEAR(both_low, kUsers / 4, 400);
  EXPECT_NEAR(epoch_both_low, kUsers / 4, 400);
}

// ---- Cookie plumbing ----

TEST(CookieNameTest, UsesSuffixOrRoomId) {
  v1::Room room;
  room.set_id("shop");
  EXPECT_EQ(CookieName(room), "anteroom_shop");
  room.mutable_cookie()->set_name_suffix("s1");
  EXPECT_EQ(CookieName(room), "anteroom_s1");
}

TEST(SetCookieValueTest, DefaultsToLaxHttpOnlyRootPath) {
  v1::Room room;
  room.set_id("shop");
  EXPECT_EQ(SetCookieValue(room, "abc", 300),
            "anteroom_shop=abc; Path=/; Max-Age=300; HttpOnly; SameSite=Lax");
}

TEST(SetCookieValueTest, WritesEveryConfiguredAttribute) {
  v1::Room room;
  room.set_id("shop");
  room.mutable_cookie()->set_name_suffix("s");
  room.mutable_cookie()->set_domain("example.com");
  room.mutable_cookie()->set_secure(true);
  room.mutable_cookie()->set_same_site(v1::SAME_SITE_NONE);
  EXPECT_EQ(SetCookieValue(room, "v", 60),
            "anteroom_s=v; Path=/; Max-Age=60; Domain=example.com; Secure; HttpOnly; "
            "SameSite=None");
  room.mutable_cookie()->set_same_site(v1::SAME_SITE_STRICT);
  EXPECT_THAT(SetCookieValue(room, "v", 60), HasSubstr("; SameSite=Strict"));
  room.mutable_cookie()->set_same_site(v1::SAME_SITE_LAX);
  EXPECT_THAT(SetCookieValue(room, "v", 60), HasSubstr("; SameSite=Lax"));
}

TEST(SetCookieValueTest, NonPositiveMaxAgeDeletes) {
  v1::Room room;
  room.set_id("shop");
  EXPECT_EQ(SetCookieValue(room, "", 0),
            "anteroom_shop=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
  EXPECT_THAT(SetCookieValue(room, "", -5), HasSubstr("; Max-Age=0;"));
}

struct FindCookieCase {
  std::string header;
  std::string name;
  std::optional<std::string> value;

  friend void PrintTo(const FindCookieCase& c, std::ostream* os) {
    *os << "'" << absl::CEscape(c.header) << "' name '" << c.name << "'";
  }
};

class FindCookieTest : public ::testing::TestWithParam<FindCookieCase> {};

TEST_P(FindCookieTest, Finds) {
  std::optional<std::string_view> got = FindCookie(GetParam().header, GetParam().name);
  if (!GetParam().value.has_value()) {
    EXPECT_FALSE(got.has_value()) << *got;
  } else {
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, *GetParam().value);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, FindCookieTest,
    ::testing::Values(
        FindCookieCase{"a=1", "a", "1"}, FindCookieCase{"a=1; b=2", "b", "2"},
        FindCookieCase{"a=1;b=2", "b", "2"}, FindCookieCase{"  a = 1 ;  b = 2  ", "b", "2"},
        FindCookieCase{"a=1;\tb=2\t", "b", "2"}, FindCookieCase{"a=1; b=2; a=3", "a", "1"},
        FindCookieCase{"b=\"quoted value\"; a=1", "b", "quoted value"},
        FindCookieCase{"b=\"", "b", "\""}, FindCookieCase{"b=\"\"", "b", ""},
        FindCookieCase{"a=", "a", ""}, FindCookieCase{"a=x=y", "a", "x=y"},
        FindCookieCase{"ab=1; a=2", "a", "2"}, FindCookieCase{"A=1; a=2", "a", "2"},
        FindCookieCase{"xa=1", "a", std::nullopt}, FindCookieCase{"a", "a", std::nullopt},
        FindCookieCase{"noequals; a=5", "a", "5"}, FindCookieCase{"", "a", std::nullopt},
        FindCookieCase{";;;", "a", std::nullopt}, FindCookieCase{"=;=a;a", "a", std::nullopt},
        FindCookieCase{"a=1; b=2", "c", std::nullopt},
        FindCookieCase{"anteroom_shop=tok; other=x", "anteroom_shop", "tok"}));

TEST(FindCookieFuzzTest, NeverCrashesAndReturnsAViewIntoTheHeader) {
  std::mt19937_64 rng(7);
  const std::string alphabet("ab=; \t\"\0\xff", 9);
  for (int i = 0; i < 20000; ++i) {
    std::string header;
    size_t length = rng() % 40;
    for (size_t j = 0; j < length; ++j) header.push_back(alphabet[rng() % alphabet.size()]);
    std::optional<std::string_view> got = FindCookie(header, "a");
    if (got.has_value() && !got->empty()) {
      EXPECT_GE(got->data(), header.data());
      EXPECT_LE(got->data() + got->size(), header.data() + header.size());
    }
  }
}

}  // namespace
}  // namespace anteroom::agent
