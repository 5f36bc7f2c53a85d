#pragma once

// Which room a request belongs to, from its host and path.
//
// Matching. A route matches a request when both parts do:
//   host   "shop.example.com"  that host exactly (ASCII case-insensitive)
//          "*.example.com"     any host ending in ".example.com" with at least one label
//                              before it: "a.example.com", "a.b.example.com", not "example.com"
//          ""                  any host
//   path   "" or "/"           every path
//          "/shop/"            every path starting with "/shop/"
//          "/shop"             "/shop" and every path under it ("/shop/", "/shop/x"), at a
//                              segment boundary: not "/shopping"
// One trailing dot of a fully qualified host is ignored on both sides.
//
// Precedence. Of the routes that match, the most specific wins: an exact host beats any
// wildcard, a longer wildcard suffix beats a shorter one, and any wildcard beats "any host".
// Among routes with equally specific hosts the longest path prefix wins. When the same route
// appears in several rooms, the room with the lowest index wins.
//
// Thread-safe: immutable after construction. Match does not allocate.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "anteroom/v1/room.pb.h"

namespace anteroom::agent {

class RouteTable {
 public:
  // An empty table: Match always returns -1.
  RouteTable() = default;

  // Indexes the routes of `rooms`; a room is referred to by its index in `rooms`. Routes are
  // taken as given (common/room_validation.h checks them): a host that is not a valid name
  // simply never matches.
  explicit RouteTable(const std::vector<v1::Room>& rooms);

  // The index of the room whose route matches most specifically, or -1 when none matches.
  // `host` is the Host header without the port; `path` has no query string.
  int Match(std::string_view host, std::string_view path) const;

 private:
  struct Entry {
    std::string prefix;  // "" for "match everything".
    int room = 0;
  };
  // Entries sorted by prefix length descending, then room index ascending: the first that
  // matches is the most specific.
  using Entries = std::vector<Entry>;
  // Sorted by key for binary search.
  using HostMap = std::vector<std::pair<std::string, Entries>>;

  static const Entries* Find(const HostMap& map, std::string_view key);
  static int MatchPath(const Entries& entries, std::string_view path);

  // Keyed by lower-case host without a trailing dot.
  HostMap exact_;
  // Keyed by the lower-case suffix with its leading dot: ".example.com" for "*.example.com".
  HostMap wildcard_;
  Entries any_host_;
  // The longest wildcard suffix: longer suffixes of a request host are not looked up.
  size_t max_wildcard_length_ = 0;
};

}  // namespace anteroom::agent
