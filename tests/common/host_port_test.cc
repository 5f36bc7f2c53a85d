// IPv6 literals next to ports: brackets added and stripped in one place.

#include "common/host_port.h"

#include <gtest/gtest.h>

namespace anteroom::common {
namespace {

TEST(HostPortTest, StripsOnlyWholeBrackets) {
  EXPECT_EQ(StripBrackets("[::1]"), "::1");
  EXPECT_EQ(StripBrackets("::1"), "::1");
  EXPECT_EQ(StripBrackets("example.com"), "example.com");
  EXPECT_EQ(StripBrackets("[::1"), "[::1");
}

TEST(HostPortTest, BracketsIpv6LiteralsOnce) {
  EXPECT_EQ(BracketHost("::1"), "[::1]");
  EXPECT_EQ(BracketHost("[::1]"), "[::1]");
  EXPECT_EQ(BracketHost("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(JoinHostPort("fe80::1", 8080), "[fe80::1]:8080");
  EXPECT_EQ(JoinHostPort("[::1]", 80), "[::1]:80");
  EXPECT_EQ(JoinHostPort("app.internal", 443), "app.internal:443");
}

}  // namespace
}  // namespace anteroom::common
