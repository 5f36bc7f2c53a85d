#include "ctl/value_parsers.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace anteroom::ctl {
namespace {

absl::Status Expected(absl::string_view flag, absl::string_view what, absl::string_view text) {
  return FlagError(flag, absl::StrCat("expected ", what, ", got '", text, "'"));
}

bool AllDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A duration with units, as absl::ParseDuration reads it ("1h30m", "500ms"); negative and
// infinite ones are refused.
bool ParseDurationWithUnits(absl::string_view text, absl::Duration* out) {
  if (!absl::ParseDuration(text, out)) return false;
  return *out >= absl::ZeroDuration() && *out != absl::InfiniteDuration();
}

}  // namespace

absl::Status FlagError(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<int64_t> ParsePositiveInt(absl::string_view flag, absl::string_view text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1) {
    return Expected(flag, "a positive integer", text);
  }
  return value;
}

absl::StatusOr<int64_t> ParseNonNegativeInt(absl::string_view flag, absl::string_view text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return Expected(flag, "a non-negative integer", text);
  }
  return value;
}

absl::StatusOr<bool> ParseBool(absl::string_view flag, absl::string_view text) {
  for (absl::string_view yes : {"true", "yes", "on", "1"}) {
    if (internal::EqualsIgnoreCase(text, yes)) return true;
  }
  for (absl::string_view no : {"false", "no", "off", "0"}) {
    if (internal::EqualsIgnoreCase(text, no)) return false;
  }
  return Expected(flag, "true or false", text);
}

absl::StatusOr<int64_t> ParseSeconds(absl::string_view flag, absl::string_view text) {
  constexpr absl::string_view kWhat = "a duration such as 300, 300s, 5m or 1h";
  if (AllDigits(text)) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(text, &seconds)) return Expected(flag, kWhat, text);
    return seconds;
  }
  absl::Duration d;
  if (!ParseDurationWithUnits(text, &d)) return Expected(flag, kWhat, text);
  if (d != absl::Seconds(absl::ToInt64Seconds(d))) {
    return FlagError(flag, absl::StrCat("must be whole seconds, got '", text, "'"));
  }
  return absl::ToInt64Seconds(d);
}

absl::StatusOr<int64_t> ParseMillis(absl::string_view flag, absl::string_view text) {
  constexpr absl::string_view kWhat = "a duration such as 2000 (milliseconds), 500ms or 2s";
  if (AllDigits(text)) {
    int64_t millis = 0;
    if (!absl::SimpleAtoi(text, &millis)) return Expected(flag, kWhat, text);
    return millis;
  }
  absl::Duration d;
  if (!ParseDurationWithUnits(text, &d)) return Expected(flag, kWhat, text);
  if (d != absl::Milliseconds(absl::ToInt64Milliseconds(d))) {
    return FlagError(flag, absl::StrCat("must be whole milliseconds, got '", text, "'"));
  }
  return absl::ToInt64Milliseconds(d);
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     absl::string_view text) {
  constexpr absl::string_view kWhat = "a positive duration such as 5s, 500ms or 1m";
  absl::Duration d;
  int64_t seconds = 0;
  if (AllDigits(text)) {
    if (!absl::SimpleAtoi(text, &seconds)) return Expected(flag, kWhat, text);
    d = absl::Seconds(seconds);
  } else if (!ParseDurationWithUnits(text, &d)) {
    return Expected(flag, kWhat, text);
  }
  if (d <= absl::ZeroDuration()) return Expected(flag, kWhat, text);
  return d;
}

absl::StatusOr<int64_t> ParseUnixTime(absl::string_view flag, absl::string_view text) {
  constexpr absl::string_view kWhat =
      "an RFC 3339 time such as 2026-12-01T10:00:00Z or Unix seconds";
  if (AllDigits(text)) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(text, &seconds)) return Expected(flag, kWhat, text);
    return seconds;
  }
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return Expected(flag, kWhat, text);
  int64_t seconds = absl::ToUnixSeconds(t);
  if (seconds < 0) return FlagError(flag, absl::StrCat("is before 1970, got '", text, "'"));
  if (absl::FromUnixSeconds(seconds) != t) {
    return FlagError(flag, absl::StrCat("must be whole seconds, got '", text, "'"));
  }
  return seconds;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(absl::string_view flag,
                                                                  absl::string_view text) {
  size_t eq = text.find('=');
  if (eq == absl::string_view::npos || eq == 0) return Expected(flag, "NAME=VALUE", text);
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

absl::StatusOr<std::string> ReadFileFlag(absl::string_view flag, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return FlagError(flag, absl::StrCat("'", path, "' is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return FlagError(flag, absl::StrCat("cannot read '", path, "'"));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return FlagError(flag, absl::StrCat("error reading '", path, "'"));
  return content.str();
}

namespace internal {

bool EqualsIgnoreCase(absl::string_view a, absl::string_view b) {
  return absl::EqualsIgnoreCase(a, b);
}

absl::Status NotOneOf(absl::string_view flag, absl::string_view text,
                      const std::vector<absl::string_view>& words) {
  return Expected(flag, absl::StrCat("one of ", absl::StrJoin(words, ", ")), text);
}

}  // namespace internal
}  // namespace anteroom::ctl
