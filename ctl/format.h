#pragma once

// How anteroomctl writes values: JSON for scripts, short human forms for tables.
// All functions are pure and thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace anteroom::ctl {

enum class OutputFormat { kTable, kJson };

// The proto3 JSON form of `message`, indented, with the proto's snake_case field names and
// enum names as strings; fields at their default are left out. Ends without a newline.
// (64-bit integers are JSON strings, as proto3 JSON specifies.)
std::string ToJson(const google::protobuf::Message& message);

// A JSON array of ToJson(messages[i]); "[]" when empty. Ends without a newline.
template <typename M>
std::string ToJsonArray(const std::vector<M>& messages);

// "45s", "5m", "1h30m"; "0" for 0.
std::string FormatSeconds(int64_t seconds);
// RFC 3339 in UTC ("2026-12-01T10:00:00Z"); "-" for 0.
std::string FormatUnixSeconds(int64_t seconds);
std::string FormatUnixMillis(int64_t millis);

// "QUEUEING_METHOD_WEIGHTED_RANDOM" with prefix "QUEUEING_METHOD_" -> "weighted-random",
// which is how the flags spell it. "unspecified" for the zero value.
std::string EnumWord(absl::string_view full_name, absl::string_view prefix);

std::string YesNo(bool value);

// --- Implementation details below. ---

namespace internal {
std::string JoinJsonArray(const std::vector<std::string>& items);
}  // namespace internal

template <typename M>
std::string ToJsonArray(const std::vector<M>& messages) {
  std::vector<std::string> items;
  items.reserve(messages.size());
  for (const M& message : messages) items.push_back(ToJson(message));
  return internal::JoinJsonArray(items);
}

}  // namespace anteroom::ctl
