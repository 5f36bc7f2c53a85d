#include "agent/bypass.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "agent/token.h"

namespace anteroom::agent {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'700'000'000;

v1::SigningKey Key(const std::string& id, char fill, int64_t retire = 0) {
  v1::SigningKey key;
  key.set_id(id);
  key.set_secret(std::string(kSecretBytes, fill));
  key.set_retire_unix(retire);
  return key;
}

// A request with headers looked up case-insensitively, as the HTTP layer does.
class FakeRequest {
 public:
  FakeRequest& Path(std::string target) {
    target_ = std::move(target);
    return *this;
  }
  FakeRequest& Ip(std::string ip) {
    ip_ = std::move(ip);
    return *this;
  }
  FakeRequest& Header(const std::string& name, std::string value) {
    headers_[absl::AsciiStrToLower(name)] = std::move(value);
    return *this;
  }
  RequestView View() const {
    RequestView view;
    view.method = "GET";
    view.target = target_;
    view.path = std::string_view(target_).substr(0, target_.find('?'));
    view.host = "shop.example.com";
    view.client_ip = ip_;
    view.header = [this](std::string_view name) -> std::optional<std::string_view> {
      auto it = headers_.find(absl::AsciiStrToLower(absl::string_view(name.data(), name.size())));
      if (it == headers_.end()) return std::nullopt;
      return it->second;
    };
    return view;
  }

 private:
  std::string target_ = "/";
  std::string ip_ = "198.51.100.1";
  std::map<std::string, std::string> headers_;
};

class BypassTest : public ::testing::Test {
 protected:
  BypassTest() {
    auto keys = Keyring::Make({Key("k1", 'a'), Key("old", 'b', kNow + 100)});
    EXPECT_TRUE(keys.ok());
    keys_ = std::make_unique<Keyring>(*std::move(keys));
    room_.set_id("shop");
  }

  BypassRules Compile() {
    auto rules = BypassRules::Compile(room_);
    EXPECT_TRUE(rules.ok()) << rules.status();
    return rules.ok() ? *std::move(rules) : BypassRules();
  }

  bool Matches(const BypassRules& rules, const FakeRequest& request, int64_t now = kNow) {
    return rules.Matches(request.View(), *keys_, now);
  }

  void AddCidr(const std::string& cidr) { room_.add_bypass()->set_client_cidr(cidr); }

  std::unique_ptr<Keyring> keys_;
  v1::Room room_;
};

TEST_F(BypassTest, NoRulesMatchNothing) {
  BypassRules rules = Compile();
  EXPECT_TRUE(rules.empty());
  EXPECT_FALSE(Matches(rules, FakeRequest()));
  EXPECT_FALSE(BypassRules().Matches(FakeRequest().View(), *keys_, kNow));
}

TEST_F(BypassTest, PathPrefixIsAPlainPrefix) {
  room_.add_bypass()->set_path_prefix("/static/");
  room_.add_bypass()->set_path_prefix("/healthz");
  BypassRules rules = Compile();
  EXPECT_FALSE(rules.empty());
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/static/app.js")));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/static/")));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/healthz")));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/healthz2")));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/healthz?full=1")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/static")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/shop?p=/static/")));
}

TEST_F(BypassTest, HeaderNameIsCaseInsensitiveAndValueExact) {
  v1::HeaderMatch* h = room_.add_bypass()->mutable_header();
  h->set_name("X-Monitor");
  h->set_value("Secret-1");
  BypassRules rules = Compile();
  EXPECT_TRUE(Matches(rules, FakeRequest().Header("x-monitor", "Secret-1")));
  EXPECT_TRUE(Matches(rules, FakeRequest().Header("X-MONITOR", "Secret-1")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Header("x-monitor", "secret-1")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Header("x-monitor", "Secret-1 ")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Header("x-monitor", "")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Header("x-other", "Secret-1")));
  EXPECT_FALSE(Matches(rules, FakeRequest()));
}

TEST_F(BypassTest, HeaderRulesSeeTheFieldsRequestViewCarries) {
  v1::HeaderMatch* h = room_.add_bypass()->mutable_header();
  h->set_name("Host");
  h->set_value("shop.example.com");
  BypassRules rules = Compile();
  EXPECT_TRUE(Matches(rules, FakeRequest()));
}

TEST_F(BypassTest, HeaderRuleWithoutHeaderFunctionDoesNotMatch) {
  v1::HeaderMatch* h = room_.add_bypass()->mutable_header();
  h->set_name("x-monitor");
  h->set_value("");
  BypassRules rules = Compile();
  RequestView view;
  EXPECT_FALSE(rules.Matches(view, *keys_, kNow));
}

struct CidrCase {
  std::string cidr;
  std::string ip;
  bool matches;

  friend void PrintTo(const CidrCase& c, std::ostream* os) {
    *os << c.cidr << " " << (c.matches ? "contains " : "excludes ") << c.ip.substr(0, 40);
  }
};

class BypassCidrTest : public BypassTest, public ::testing::WithParamInterface<CidrCase> {};

TEST_P(BypassCidrTest, Matches) {
  AddCidr(GetParam().cidr);
  BypassRules rules = Compile();
  EXPECT_EQ(Matches(rules, FakeRequest().Ip(GetParam().ip)), GetParam().matches)
      << GetParam().cidr << " vs " << GetParam().ip;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BypassCidrTest,
    ::testing::Values(
        CidrCase{"10.0.0.0/8", "10.1.2.3", true}, CidrCase{"10.0.0.0/8", "11.0.0.0", false},
        CidrCase{"10.0.0.0/8", "9.255.255.255", false},
        CidrCase{"10.1.2.3/8", "10.200.0.1", true},  // Host bits ignored.
        CidrCase{"192.168.1.0/24", "192.168.1.255", true},
        CidrCase{"192.168.1.0/24", "192.168.2.0", false},
        CidrCase{"192.168.1.128/25", "192.168.1.127", false},
        CidrCase{"192.168.1.128/25", "192.168.1.128", true},
        CidrCase{"203.0.113.7/32", "203.0.113.7", true},
        CidrCase{"203.0.113.7/32", "203.0.113.8", false}, CidrCase{"0.0.0.0/0", "8.8.8.8", true},
        CidrCase{"0.0.0.0/0", "2001:db8::1", false},
        CidrCase{"10.0.0.0/8", "::ffff:10.9.8.7", true},
        CidrCase{"10.0.0.0/8", "::ffff:11.9.8.7", false},
        CidrCase{"10.0.0.0/8", "[::ffff:10.9.8.7]", true},
        CidrCase{"2001:db8::/32", "2001:db8:1::5", true},
        CidrCase{"2001:db8::/32", "2001:db9::5", false},
        CidrCase{"2001:db8::/32", "[2001:db8::1]", true},
        CidrCase{"fe80::/10", "fe80::1%eth0", true},
        CidrCase{"2001:db8::1/128", "2001:db8::1", true},
        CidrCase{"2001:db8::1/128", "2001:db8::2", false},
        CidrCase{"2001:db8::/33", "2001:db8:8000::1", false},
        CidrCase{"2001:db8::/33", "2001:db8:7fff::1", true},
        CidrCase{"2001:db8::/32", "10.0.0.1", false}, CidrCase{"10.0.0.0/8", "", false},
        CidrCase{"10.0.0.0/8", "not an ip", false}, CidrCase{"10.0.0.0/8", "10.0.0.1:443", false},
        CidrCase{"10.0.0.0/8", std::string(500, '1'), false}));

struct BadRuleCase {
  std::string name;
  v1::BypassRule rule;
  std::string message;

  friend void PrintTo(const BadRuleCase& c, std::ostream* os) { *os << c.name; }
};

class BypassCompileErrorTest : public ::testing::TestWithParam<BadRuleCase> {};

TEST_P(BypassCompileErrorTest, NamesTheRule) {
  v1::Room room;
  room.set_id("shop");
  room.add_bypass()->set_path_prefix("/ok/");
  *room.add_bypass() = GetParam().rule;
  auto rules = BypassRules::Compile(room);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rules.status().message()), HasSubstr(GetParam().message));
}

std::vector<BadRuleCase> BadRuleCases() {
  auto cidr = [](const std::string& text) {
    v1::BypassRule r;
    r.set_client_cidr(text);
    return r;
  };
  v1::BypassRule empty_path;
  empty_path.set_path_prefix("");
  v1::BypassRule empty_header;
  empty_header.mutable_header()->set_value("v");
  return {
      {"NoSlash", cidr("10.0.0.0"), "room.bypass[1].client_cidr: must be address/prefix"},
      {"BadAddress", cidr("10.0.0/8"), "room.bypass[1].client_cidr: not an IPv4 or IPv6 address"},
      {"Hostname", cidr("example.com/8"), "not an IPv4 or IPv6 address (got 'example.com/8')"},
      {"Zone", cidr("fe80::1%eth0/64"), "not an IPv4 or IPv6 address"},
      {"V4TooLong", cidr("10.0.0.0/33"), "room.bypass[1].client_cidr: prefix length must be 0-32"},
      {"V6TooLong", cidr("::/129"), "prefix length must be 0-128"},
      {"Negative", cidr("10.0.0.0/-1"), "prefix length must be 0-32"},
      {"NotANumber", cidr("10.0.0.0/x"), "prefix length must be 0-32"},
      {"EmptyBits", cidr("10.0.0.0/"), "prefix length must be 0-32"},
      {"EmptyPath", empty_path, "room.bypass[1].path_prefix: is empty"},
      {"EmptyHeaderName", empty_header, "room.bypass[1].header.name: is required"},
      {"NoRule", v1::BypassRule(), "room.bypass[1]: names no rule"},
  };
}

INSTANTIATE_TEST_SUITE_P(All, BypassCompileErrorTest, ::testing::ValuesIn(BadRuleCases()),
                         [](const auto& info) { return info.param.name; });

TEST_F(BypassTest, SignedTokenInHeaderOrQuery) {
  room_.add_bypass()->set_signed_token(true);
  BypassRules rules = Compile();
  std::string token = MakeBypassToken("shop", kNow + 3600, keys_->Current());
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(Matches(rules, FakeRequest().Header("X-Anteroom-Bypass", token)));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/p?__anteroom_bypass=" + token)));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/p?a=1&__anteroom_bypass=" + token + "&b=2")));
  EXPECT_TRUE(Matches(rules, FakeRequest().Path("/p?__anteroom_bypass=" + token + "#frag")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/p?x__anteroom_bypass=" + token)));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/p#?__anteroom_bypass=" + token)));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/p?__anteroom_bypass=")));
  EXPECT_FALSE(Matches(rules, FakeRequest().Path("/p?__anteroom_bypass")));
  EXPECT_FALSE(Matches(rules, FakeRequest()));
}

TEST_F(BypassTest, WithoutKeysOnlyTokenRulesAreOff) {
  room_.add_bypass()->set_path_prefix("/static/");
  room_.add_bypass()->set_signed_token(true);
  BypassRules rules = Compile();
  EXPECT_TRUE(rules.Matches(FakeRequest().Path("/static/a.css").View(), nullptr, kNow));
  std::string token = MakeBypassToken("shop", kNow + 3600, keys_->Current());
  EXPECT_FALSE(
      rules.Matches(FakeRequest().Header("X-Anteroom-Bypass", token).View(), nullptr, kNow));
  EXPECT_TRUE(
      rules.Matches(FakeRequest().Header("X-Anteroom-Bypass", token).View(), keys_.get(), kNow));
}

TEST_F(BypassTest, TokensAreIgnoredUnlessTheRoomAllowsThem) {
  room_.add_bypass()->set_signed_token(false);
  BypassRules rules = Compile();
  EXPECT_TRUE(rules.empty());
  std::string token = MakeBypassToken("shop", kNow + 3600, keys_->Current());
  EXPECT_FALSE(Matches(rules, FakeRequest().Header("X-Anteroom-Bypass", token)));
}

TEST_F(BypassTest, InvalidTokensDoNotBypass) {
  room_.add_bypass()->set_signed_token(true);
  BypassRules rules = Compile();
  auto via_header = [&](const std::string& token, int64_t now = kNow) {
    return Matches(rules, FakeRequest().Header("X-Anteroom-Bypass", token), now);
  };
  std::string good = MakeBypassToken("shop", kNow + 10, keys_->Current());
  EXPECT_TRUE(via_header(good, kNow + 9));
  EXPECT_FALSE(via_header(good, kNow + 10)) << "expired";
  EXPECT_FALSE(via_header(MakeBypassToken("other", kNow + 10, keys_->Current()))) << "room";
  EXPECT_FALSE(via_header(MakeBypassToken("sho", kNow + 10, keys_->Current()))) << "room";
  EXPECT_FALSE(via_header(MakeBypassToken("shop", kNow + 10, Key("k1", 'z')))) << "bad MAC";
  EXPECT_FALSE(via_header(MakeBypassToken("shop", kNow + 10, Key("k9", 'a')))) << "unknown key";
  std::string retired = MakeBypassToken("shop", kNow + 1000, *keys_->Find("old"));
  EXPECT_TRUE(via_header(retired, kNow + 99));
  EXPECT_FALSE(via_header(retired, kNow + 100)) << "retired key";
  EXPECT_FALSE(via_header("")) << "empty";
  EXPECT_FALSE(via_header(std::string(5000, 'A'))) << "huge";

  // A valid cookie token of the same room and key is not a bypass token.
  Token cookie;
  cookie.room_id = "shop";
  cookie.state = TokenState::kActive;
  cookie.expiry_slot = kNow + 1000;
  EXPECT_FALSE(via_header(EncodeToken(cookie, keys_->Current())));
}

TEST(BypassTokenTest, EveryTamperingAndTruncationFails) {
  auto keys = Keyring::Make({Key("k1", 'a')});
  ASSERT_TRUE(keys.ok());
  std::string token = MakeBypassToken("shop", kNow + 100, keys->Current());
  ASSERT_TRUE(VerifyBypassToken(token, "shop", *keys, kNow));
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = raw;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      EXPECT_FALSE(VerifyBypassToken(absl::WebSafeBase64Escape(tampered), "shop", *keys, kNow))
          << i << " " << bit;
    }
  }
  for (size_t n = 0; n < raw.size(); ++n) {
    EXPECT_FALSE(
        VerifyBypassToken(absl::WebSafeBase64Escape(raw.substr(0, n)), "shop", *keys, kNow))
        << n;
  }
  for (size_t n = 0; n < token.size(); ++n) {
    EXPECT_FALSE(VerifyBypassToken(token.substr(0, n), "shop", *keys, kNow)) << n;
  }
  EXPECT_FALSE(VerifyBypassToken(token + "A", "shop", *keys, kNow));
  std::mt19937_64 rng(3);
  for (int i = 0; i < 20000; ++i) {
    std::string garbage(1, '\x42');
    size_t length = rng() % 100;
    for (size_t j = 0; j < length; ++j) garbage.push_back(static_cast<char>(rng()));
    EXPECT_FALSE(VerifyBypassToken(absl::WebSafeBase64Escape(garbage), "shop", *keys, kNow));
  }
}

TEST(BypassTokenTest, RefusesToMakeTokensItCouldNotEncode) {
  EXPECT_EQ(MakeBypassToken("", kNow, Key("k1", 'a')), "");
  EXPECT_EQ(MakeBypassToken(std::string(256, 'r'), kNow, Key("k1", 'a')), "");
  EXPECT_EQ(MakeBypassToken("shop", kNow, Key(std::string(33, 'k'), 'a')), "");
  EXPECT_NE(MakeBypassToken(std::string(255, 'r'), kNow, Key("k1", 'a')), "");
}

}  // namespace
}  // namespace anteroom::agent
