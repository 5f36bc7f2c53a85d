#pragma once

// Parsers for flag values. Each takes the flag's name (without dashes) so that its error is
// InvalidArgument naming the flag and the reason in the same words everywhere, e.g.
//   "--total-active-users: expected a positive integer, got 'abc'".
// All functions are pure and thread-safe except ReadFileFlag, which reads the file system.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace anteroom::ctl {

// InvalidArgument "--<flag>: <why>".
absl::Status FlagError(absl::string_view flag, absl::string_view why);

// A decimal integer >= 1.
absl::StatusOr<int64_t> ParsePositiveInt(absl::string_view flag, absl::string_view text);
// A decimal integer >= 0.
absl::StatusOr<int64_t> ParseNonNegativeInt(absl::string_view flag, absl::string_view text);

// true/false, yes/no, on/off, 1/0 (case-insensitive).
absl::StatusOr<bool> ParseBool(absl::string_view flag, absl::string_view text);

// A duration in whole seconds, >= 0: "300" (seconds), "300s", "5m", "1h", "1h30m".
absl::StatusOr<int64_t> ParseSeconds(absl::string_view flag, absl::string_view text);

// A duration in whole milliseconds, >= 0: "2000" (milliseconds), "500ms", "2s", "1m".
absl::StatusOr<int64_t> ParseMillis(absl::string_view flag, absl::string_view text);

// A positive duration: "5" (seconds), "5s", "500ms", "1m".
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     absl::string_view text);

// A point in time as Unix seconds, >= 0: RFC 3339 ("2026-12-01T10:00:00Z",
// "2026-12-01T12:00:00+02:00") or a Unix timestamp in seconds ("1796119200"). "0" is 0.
absl::StatusOr<int64_t> ParseUnixTime(absl::string_view flag, absl::string_view text);

// "NAME=VALUE" with a non-empty NAME; VALUE may be empty and may contain '='.
absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(absl::string_view flag,
                                                                  absl::string_view text);

// One of a fixed set of words, matched case-insensitively. The error lists the choices.
template <typename Enum>
struct EnumChoice {
  absl::string_view word;
  Enum value;
};
template <typename Enum>
absl::StatusOr<Enum> ParseEnum(absl::string_view flag, absl::string_view text,
                               const std::vector<EnumChoice<Enum>>& choices);

// The whole content of the file named by the flag's value.
absl::StatusOr<std::string> ReadFileFlag(absl::string_view flag, const std::string& path);

// --- Implementation details below. ---

namespace internal {
bool EqualsIgnoreCase(absl::string_view a, absl::string_view b);
absl::Status NotOneOf(absl::string_view flag, absl::string_view text,
                      const std::vector<absl::string_view>& words);
}  // namespace internal

template <typename Enum>
absl::StatusOr<Enum> ParseEnum(absl::string_view flag, absl::string_view text,
                               const std::vector<EnumChoice<Enum>>& choices) {
  std::vector<absl::string_view> words;
  for (const EnumChoice<Enum>& choice : choices) {
    if (internal::EqualsIgnoreCase(choice.word, text)) return choice.value;
    words.push_back(choice.word);
  }
  return internal::NotOneOf(flag, text, words);
}

}  // namespace anteroom::ctl
