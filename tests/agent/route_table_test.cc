#include "agent/route_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace anteroom::agent {
namespace {

v1::Room MakeRoom(const std::string& id, std::vector<std::pair<std::string, std::string>> routes) {
  v1::Room room;
  room.set_id(id);
  for (const auto& [host, prefix] : routes) {
    v1::Route* route = room.add_routes();
    route->set_host(host);
    route->set_path_prefix(prefix);
  }
  return room;
}

struct MatchCase {
  std::string host;
  std::string path;
  int room;
};

void ExpectMatches(const RouteTable& table, const std::vector<MatchCase>& cases) {
  for (const MatchCase& c : cases) {
    EXPECT_EQ(table.Match(c.host, c.path), c.room)
        << "host '" << c.host << "' path '" << c.path << "'";
  }
}

TEST(RouteTableTest, EmptyTableMatchesNothing) {
  EXPECT_EQ(RouteTable().Match("a.example.com", "/"), -1);
  EXPECT_EQ(RouteTable(std::vector<v1::Room>{}).Match("", ""), -1);
  EXPECT_EQ(RouteTable({MakeRoom("no-routes", {})}).Match("x", "/"), -1);
}

TEST(RouteTableTest, PathPrefixMatchesAtSegmentBoundaries) {
  RouteTable table({MakeRoom("shop", {{"", "/shop"}}), MakeRoom("api", {{"", "/api/"}})});
  ExpectMatches(table, {
                           {"h", "/shop", 0},
                           {"h", "/shop/", 0},
                           {"h", "/shop/x", 0},
                           {"h", "/shop/x/y", 0},
                           {"h", "/shopping", -1},
                           {"h", "/shop.html", -1},
                           {"h", "/sho", -1},
                           {"h", "/", -1},
                           {"h", "", -1},
                           {"h", "/api/", 1},
                           {"h", "/api/v1", 1},
                           {"h", "/api", -1},  // "/api/" covers what is under it only.
                           {"h", "/apis", -1},
                           {"h", "/SHOP", -1},  // Paths are case-sensitive.
                       });
}

TEST(RouteTableTest, EmptyOrRootPrefixMatchesEverything) {
  for (const std::string prefix : {"", "/"}) {
    RouteTable table({MakeRoom("all", {{"", prefix}})});
    ExpectMatches(table, {{"h", "/", 0}, {"h", "", 0}, {"h", "/anything/at/all", 0}, {"", "/", 0}});
  }
}

TEST(RouteTableTest, LongestPathPrefixWins) {
  RouteTable table({MakeRoom("root", {{"", "/"}}), MakeRoom("shop", {{"", "/shop"}}),
                    MakeRoom("checkout", {{"", "/shop/checkout"}}),
                    MakeRoom("shop-slash", {{"", "/shop/"}})});
  ExpectMatches(table, {
                           {"h", "/", 0},
                           {"h", "/other", 0},
                           {"h", "/shopping", 0},
                           {"h", "/shop", 1},
                           {"h", "/shop/", 3},
                           {"h", "/shop/item", 3},
                           {"h", "/shop/checkout", 2},
                           {"h", "/shop/checkout/pay", 2},
                           {"h", "/shop/checkouts", 3},
                       });
}

TEST(RouteTableTest, HostSpecificityBeatsPathLength) {
  RouteTable table({
      MakeRoom("any-deep", {{"", "/shop/deep/path"}}),        // 0
      MakeRoom("short-wild", {{"*.com", "/shop/deep"}}),      // 1
      MakeRoom("wild", {{"*.example.com", "/shop"}}),         // 2
      MakeRoom("exact", {{"www.example.com", "/"}}),          // 3
      MakeRoom("exact-other", {{"api.example.com", "/v1"}}),  // 4
  });
  ExpectMatches(table, {
                           // Exact host, even with the shortest prefix.
                           {"www.example.com", "/shop/deep/path", 3},
                           // Longer wildcard suffix beats shorter, beats any host.
                           {"a.example.com", "/shop/deep/path", 2},
                           {"a.b.example.com", "/shop/deep/path", 2},
                           {"a.other.com", "/shop/deep/path", 1},
                           {"other.org", "/shop/deep/path", 0},
                           // A more specific host whose paths do not match falls through.
                           {"api.example.com", "/v1/x", 4},
                           {"api.example.com", "/shop", 2},
                           {"api.example.com", "/shop/deep/x", 2},
                           {"a.example.com", "/other", -1},
                           {"a.example.com", "/shop/deep/path", 2},
                           {"x.com", "/shop/deep/path/y", 1},
                           {"x.com", "/shop/deepx", -1},
                           {"x.org", "/shop/deep/path/y", 0},
                       });
}

TEST(RouteTableTest, WildcardNeedsALabelBeforeTheSuffix) {
  RouteTable table({MakeRoom("wild", {{"*.example.com", ""}})});
  ExpectMatches(table, {
                           {"a.example.com", "/", 0},
                           {"a.b.example.com", "/", 0},
                           {"example.com", "/", -1},
                           {".example.com", "/", -1},
                           {"aexample.com", "/", -1},
                           {"a.example.com.evil", "/", -1},
                           {"a.example.co", "/", -1},
                           {"", "/", -1},
                       });
}

TEST(RouteTableTest, ExactHostIsExact) {
  RouteTable table({MakeRoom("exact", {{"shop.example.com", ""}})});
  ExpectMatches(table, {
                           {"shop.example.com", "/", 0},
                           {"a.shop.example.com", "/", -1},
                           {"example.com", "/", -1},
                           {"shop.example.co", "/", -1},
                           {"", "/", -1},
                       });
}

TEST(RouteTableTest, HostsCompareCaseInsensitivelyAndIgnoreATrailingDot) {
  RouteTable table({MakeRoom("exact", {{"Shop.Example.COM", "/"}}),
                    MakeRoom("wild", {{"*.EXAMPLE.org.", "/"}})});
  ExpectMatches(table, {
                           {"shop.example.com", "/", 0},
                           {"SHOP.EXAMPLE.COM", "/", 0},
                           {"shop.example.com.", "/", 0},
                           {"A.Example.Org", "/", 1},
                           {"a.example.org.", "/", 1},
                       });
}

TEST(RouteTableTest, IdenticalRoutesGoToTheLowestRoomIndex) {
  RouteTable table({MakeRoom("first", {{"", "/a"}}), MakeRoom("second", {{"", "/a"}, {"", "/b"}}),
                    MakeRoom("third", {{"h.example", "/b"}, {"", "/b"}})});
  ExpectMatches(table, {{"x", "/a", 0}, {"x", "/b", 1}, {"h.example", "/b", 2}});
}

TEST(RouteTableTest, RoomsWithSeveralRoutes) {
  RouteTable table({MakeRoom("multi", {{"a.example", "/x"}, {"b.example", "/y"}, {"", "/z"}}),
                    MakeRoom("fallback", {{"", "/"}})});
  ExpectMatches(table, {
                           {"a.example", "/x", 0},
                           {"a.example", "/y", 1},
                           {"b.example", "/y/1", 0},
                           {"c.example", "/z", 0},
                           {"c.example", "/x", 1},
                       });
}

TEST(RouteTableTest, OverlongHostsOnlyMatchAnyHostRoutes) {
  RouteTable table({MakeRoom("exact", {{"a.example", "/"}}), MakeRoom("any", {{"", "/p"}})});
  std::string long_host = std::string(300, 'a') + ".example";
  ExpectMatches(table, {{long_host, "/", -1}, {long_host, "/p", 1}});
}

}  // namespace
}  // namespace anteroom::agent
