#include "common/secret_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/process.h"

namespace anteroom::common {
namespace {

class SecretFileTest : public ::testing::Test {
 protected:
  void TearDown() override { testing::RemoveTree(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_ = testing::MakeTempDir("anteroom-secret");
};

TEST_F(SecretFileTest, ReadsTheTokenWithoutSurroundingWhitespace) {
  auto token = ReadSecretFile("sync-token-file", Write("t", "  s3cret-token\n\n"));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "s3cret-token");
}

TEST_F(SecretFileTest, AMissingFileNamesTheFlagAndThePath) {
  const std::string path = dir_ + "/absent";
  auto token = ReadSecretFile("sync-token-file", path);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(token.status().message(), "--sync-token-file: cannot read " + path);
}

TEST_F(SecretFileTest, AnEmptyFileIsRefused) {
  const std::string path = Write("empty", " \n");
  auto token = ReadSecretFile("admin-token-file", path);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(token.status().message(), "--admin-token-file: " + path + " is empty");
}

TEST_F(SecretFileTest, ATokenThatCannotBeSentIsRefused) {
  for (const char* text : {"two\nlines\n", "with space", "caf\xc3\xa9"}) {
    const std::string path = Write("bad", text);
    auto token = ReadSecretFile("sync-token-file", path);
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(token.status().message(),
              "--sync-token-file: " + path + " must hold one token of visible ASCII characters");
  }
}

}  // namespace
}  // namespace anteroom::common
