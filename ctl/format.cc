#include "ctl/format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace anteroom::ctl {

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  // Printing a valid message to a string cannot fail; the status only reports bad Any types.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json;
}

std::string FormatSeconds(int64_t seconds) { return absl::FormatDuration(absl::Seconds(seconds)); }

std::string FormatUnixSeconds(int64_t seconds) {
  if (seconds == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

std::string FormatUnixMillis(int64_t millis) {
  if (millis == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(millis),
                          absl::UTCTimeZone());
}

std::string EnumWord(absl::string_view full_name, absl::string_view prefix) {
  absl::string_view word = full_name;
  if (absl::StartsWith(word, prefix)) word.remove_prefix(prefix.size());
  if (word.empty()) return "unknown";
  return absl::AsciiStrToLower(absl::StrReplaceAll(word, {{"_", "-"}}));
}

std::string YesNo(bool value) { return value ? "yes" : "no"; }

namespace internal {

std::string JoinJsonArray(const std::vector<std::string>& items) {
  if (items.empty()) return "[]";
  return "[\n" + absl::StrJoin(items, ",\n") + "\n]";
}

}  // namespace internal
}  // namespace anteroom::ctl
