#include "agent/route_table.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"

namespace anteroom::agent {
namespace {

// Longest DNS name; a longer Host header cannot name a route's host.
constexpr size_t kMaxHostLength = 253;

std::string_view StripTrailingDot(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return host;
}

bool PathMatches(std::string_view prefix, std::string_view path) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  // A prefix ending in '/' (or the empty prefix) already ends at a segment boundary.
  return prefix.empty() || prefix.back() == '/' || path.size() == prefix.size() ||
         path[prefix.size()] == '/';
}

}  // namespace

RouteTable::RouteTable(const std::vector<v1::Room>& rooms) {
  // std::map iterates in key order, which is the order the binary search needs.
  std::map<std::string, Entries, std::less<>> exact, wildcard;
  for (size_t i = 0; i < rooms.size(); ++i) {
    for (const v1::Route& route : rooms[i].routes()) {
      Entry entry;
      entry.prefix = route.path_prefix() == "/" ? "" : route.path_prefix();
      entry.room = static_cast<int>(i);
      std::string host = absl::AsciiStrToLower(route.host());
      host = std::string(StripTrailingDot(host));
      if (host.empty()) {
        any_host_.push_back(std::move(entry));
      } else if (host.size() > 2 && host[0] == '*' && host[1] == '.') {
        std::string suffix = host.substr(1);
        max_wildcard_length_ = std::max(max_wildcard_length_, suffix.size());
        wildcard[suffix].push_back(std::move(entry));
      } else {
        exact[host].push_back(std::move(entry));
      }
    }
  }
  auto sort = [](Entries& entries) {
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.prefix.size() != b.prefix.size()) return a.prefix.size() > b.prefix.size();
      return a.room < b.room;
    });
  };
  for (auto& [host, entries] : exact) {
    sort(entries);
    exact_.emplace_back(host, std::move(entries));
  }
  for (auto& [suffix, entries] : wildcard) {
    sort(entries);
    wildcard_.emplace_back(suffix, std::move(entries));
  }
  sort(any_host_);
}

const RouteTable::Entries* RouteTable::Find(const HostMap& map, std::string_view key) {
  auto it = std::lower_bound(
      map.begin(), map.end(), key,
      [](const std::pair<std::string, Entries>& a, std::string_view b) { return a.first < b; });
  return it != map.end() && it->first == key ? &it->second : nullptr;
}

int RouteTable::MatchPath(const Entries& entries, std::string_view path) {
  for (const Entry& entry : entries) {
    if (PathMatches(entry.prefix, path)) return entry.room;
  }
  return -1;
}

int RouteTable::Match(std::string_view host, std::string_view path) const {
  host = StripTrailingDot(host);
  if (!host.empty() && host.size() <= kMaxHostLength && (!exact_.empty() || !wildcard_.empty())) {
    char buf[kMaxHostLength];
    for (size_t i = 0; i < host.size(); ++i) buf[i] = absl::ascii_tolower(host[i]);
    std::string_view lower(buf, host.size());

    if (const Entries* entries = Find(exact_, lower); entries != nullptr) {
      if (int room = MatchPath(*entries, path); room >= 0) return room;
    }
    // Suffixes from the longest (after the first label) to the shortest. A dot at position 0
    // would leave no label before the suffix, so the search starts at 1.
    for (size_t dot = lower.find('.', 1); dot != std::string_view::npos;
         dot = lower.find('.', dot + 1)) {
      std::string_view suffix = lower.substr(dot);
      if (suffix.size() > max_wildcard_length_) continue;
      if (const Entries* entries = Find(wildcard_, suffix); entries != nullptr) {
        if (int room = MatchPath(*entries, path); room >= 0) return room;
      }
    }
  }
  return MatchPath(any_host_, path);
}

}  // namespace anteroom::agent
