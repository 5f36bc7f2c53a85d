#include "agent/keyring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"

namespace anteroom::agent {
namespace {

using ::testing::HasSubstr;

v1::SigningKey Key(const std::string& id, int64_t created, int64_t retire = 0, char fill = 'x') {
  v1::SigningKey key;
  key.set_id(id);
  key.set_secret(std::string(kSecretBytes, fill));
  key.set_created_unix(created);
  key.set_retire_unix(retire);
  return key;
}

TEST(KeyringTest, CurrentIsTheKeyThatIsNotRetiring) {
  auto keyring = Keyring::Make({Key("old", 100, 500), Key("new", 200)});
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->Current().id(), "new");
  EXPECT_EQ(keyring->keys().size(), 2u);
}

TEST(KeyringTest, NewestCurrentKeyWinsInAnyOrder) {
  for (auto keys : {std::vector<v1::SigningKey>{Key("a", 100), Key("b", 300), Key("c", 200)},
                    std::vector<v1::SigningKey>{Key("c", 200), Key("b", 300), Key("a", 100)}}) {
    auto keyring = Keyring::Make(keys);
    ASSERT_TRUE(keyring.ok()) << keyring.status();
    EXPECT_EQ(keyring->Current().id(), "b");
  }
}

TEST(KeyringTest, EqualCreationTimesPickTheGreatestId) {
  for (auto keys : {std::vector<v1::SigningKey>{Key("k1", 100), Key("k2", 100)},
                    std::vector<v1::SigningKey>{Key("k2", 100), Key("k1", 100)}}) {
    auto keyring = Keyring::Make(keys);
    ASSERT_TRUE(keyring.ok()) << keyring.status();
    EXPECT_EQ(keyring->Current().id(), "k2");
  }
}

TEST(KeyringTest, FindsEveryKeyIncludingRetiredOnes) {
  auto keyring = Keyring::Make({Key("old", 100, 500, 'o'), Key("new", 200, 0, 'n')});
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  const v1::SigningKey* old = keyring->Find("old");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->secret(), std::string(kSecretBytes, 'o'));
  EXPECT_EQ(old->retire_unix(), 500);
  ASSERT_NE(keyring->Find("new"), nullptr);
  EXPECT_EQ(keyring->Find("missing"), nullptr);
  EXPECT_EQ(keyring->Find(""), nullptr);
  EXPECT_EQ(keyring->Find("ne"), nullptr);
}

TEST(KeyringTest, PointersSurviveAMove) {
  auto keyring = Keyring::Make({Key("k", 1)});
  ASSERT_TRUE(keyring.ok());
  Keyring moved = *std::move(keyring);
  EXPECT_EQ(&moved.Current(), moved.Find("k"));
}

struct BadKeysCase {
  std::string name;
  std::vector<v1::SigningKey> keys;
  std::string message;

  friend void PrintTo(const BadKeysCase& c, std::ostream* os) { *os << c.name; }
};

class KeyringMakeErrorTest : public ::testing::TestWithParam<BadKeysCase> {};

TEST_P(KeyringMakeErrorTest, ReturnsInvalidArgumentNamingTheKey) {
  auto keyring = Keyring::Make(GetParam().keys);
  ASSERT_FALSE(keyring.ok());
  EXPECT_EQ(keyring.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(keyring.status().message()), HasSubstr(GetParam().message));
}

std::vector<BadKeysCase> BadKeysCases() {
  v1::SigningKey short_secret = Key("short", 1);
  short_secret.set_secret("tooshort");
  v1::SigningKey long_secret = Key("long", 1);
  long_secret.set_secret(std::string(33, 'x'));
  return {
      {"NoKeys", {}, "no current signing key"},
      {"AllRetiring", {Key("a", 1, 10), Key("b", 2, 20)}, "no current signing key"},
      {"EmptyId", {Key("ok", 1), Key("", 2)}, "keys[1] (id \"\"): id is empty"},
      {"LongId", {Key(std::string(33, 'i'), 1)}, "id is longer than 32 bytes"},
      {"MaxLengthIdIsFine", {Key(std::string(32, 'i'), 1), Key("", 1)}, "keys[1]"},
      {"ShortSecret", {Key("ok", 1), short_secret}, "keys[1] (id \"short\"): secret must be 32"},
      {"LongSecret", {long_secret}, "keys[0] (id \"long\"): secret must be 32 bytes (got 33)"},
      {"RepeatedId",
       {Key("a", 1), Key("b", 1), Key("a", 2)},
       "keys[2] (id \"a\"): id repeats keys[0]"},
  };
}

INSTANTIATE_TEST_SUITE_P(All, KeyringMakeErrorTest, ::testing::ValuesIn(BadKeysCases()),
                         [](const auto& info) { return info.param.name; });

class LoadKeyringFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "keyring_test_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& text) {
    std::string path = dir_ + "/keys.yaml";
    std::ofstream(path) << text;
    return path;
  }

  static std::string Secret(char fill) {
    return absl::Base64Escape(std::string(kSecretBytes, fill));
  }

  std::string dir_;
};

TEST_F(LoadKeyringFileTest, ReadsKeys) {
  std::string path = Write(
      "keys:\n"
      "  - id: k1\n"
      "    secret_base64: " +
      Secret('a') +
      "\n"
      "    created_unix: 100\n"
      "    retire_unix: 900\n"
      "  - {id: k2, secret_base64: \"" +
      Secret('b') + "\", created_unix: 200}\n");
  auto keyring = LoadKeyringFile(path);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->Current().id(), "k2");
  EXPECT_EQ(keyring->Current().secret(), std::string(kSecretBytes, 'b'));
  EXPECT_EQ(keyring->Current().created_unix(), 200);
  ASSERT_NE(keyring->Find("k1"), nullptr);
  EXPECT_EQ(keyring->Find("k1")->retire_unix(), 900);
  EXPECT_EQ(keyring->Find("k1")->secret(), std::string(kSecretBytes, 'a'));
}

TEST_F(LoadKeyringFileTest, AcceptsUrlSafeAndUnpaddedBase64) {
  // 0xfb bytes encode to '+' and '/' in standard base64, '-' and '_' in URL-safe.
  std::string secret(kSecretBytes, static_cast<char>(0xfb));
  std::string path =
      Write("keys:\n  - id: k1\n    secret_base64: " + absl::WebSafeBase64Escape(secret) + "\n");
  auto keyring = LoadKeyringFile(path);
  ASSERT_TRUE(keyring.ok()) << keyring.status();
  EXPECT_EQ(keyring->Current().secret(), secret);
}

TEST_F(LoadKeyringFileTest, MissingFileIsNotFound) {
  auto keyring = LoadKeyringFile(dir_ + "/absent.yaml");
  EXPECT_EQ(keyring.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(keyring.status().message()), HasSubstr("absent.yaml"));
}

struct BadFileCase {
  std::string name;
  std::string yaml;
  std::string message;  // After "<path>".

  friend void PrintTo(const BadFileCase& c, std::ostream* os) { *os << c.name; }
};

class LoadKeyringFileErrorTest : public LoadKeyringFileTest,
                                 public ::testing::WithParamInterface<BadFileCase> {};

TEST_P(LoadKeyringFileErrorTest, NamesTheFileAndTheField) {
  std::string path = Write(GetParam().yaml);
  auto keyring = LoadKeyringFile(path);
  ASSERT_FALSE(keyring.ok());
  EXPECT_EQ(keyring.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(keyring.status().message()), HasSubstr(path + GetParam().message));
}

std::vector<BadFileCase> BadFileCases() {
  std::string good = absl::Base64Escape(std::string(kSecretBytes, 'a'));
  return {
      {"Empty", "", ": expected a map with a 'keys' list"},
      {"NotAMap", "- a\n- b\n", ":1:1: expected a map with a 'keys' list"},
      {"UnknownTopField", "key: []\n", ":1:1: key: unknown field (expected keys)"},
      {"KeysNotAList", "keys: 3\n", ":1:7: keys: expected a list of keys"},
      {"EntryNotAMap", "keys:\n  - k1\n", ":2:5: keys[0]: expected a map"},
      {"BadBase64", "keys:\n  - id: k1\n    secret_base64: '!!!'\n",
       ":3:20: keys[0].secret_base64: not valid base64"},
      {"ShortSecret", "keys:\n  - id: k1\n    secret_base64: " + absl::Base64Escape("short") + "\n",
       ":3:20: keys[0].secret_base64: must decode to 32 bytes (got 5)"},
      {"MissingSecret", "keys:\n  - id: k1\n", ":2:5: keys[0].secret_base64: is required"},
      {"BadNumber", "keys:\n  - {id: k1, secret_base64: " + good + ", retire_unix: soon}\n",
       ":2:88: keys[0].retire_unix: expected a non-negative integer, got 'soon'"},
      {"NegativeNumber", "keys:\n  - {id: k1, secret_base64: " + good + ", created_unix: -1}\n",
       ":2:89: keys[0].created_unix: expected a non-negative integer, got '-1'"},
      {"UnknownField", "keys:\n  - id: k1\n    secret: abc\n",
       ":3:5: keys[0].secret: unknown field (expected id, secret_base64, created_unix or "
       "retire_unix)"},
      {"NestedValue", "keys:\n  - id: [k1]\n", ":2:9: keys[0].id: expected a scalar"},
      {"SyntaxError", "keys: [\n", ":"},
      {"NoCurrentKey", "keys:\n  - {id: k1, secret_base64: " + good + ", retire_unix: 5}\n",
       ": no current signing key"},
      {"EmptyId", "keys:\n  - {secret_base64: " + good + "}\n", ": keys[0] (id \"\"): id is empty"},
  };
}

INSTANTIATE_TEST_SUITE_P(All, LoadKeyringFileErrorTest, ::testing::ValuesIn(BadFileCases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace anteroom::agent
