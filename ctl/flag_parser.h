#pragma once

// Splits an anteroomctl command line into positional arguments and flags.
//
// Accepted forms: "--name=value", "--name value", "-o value", "-ovalue" for a one-letter
// alias, "--name" alone for a boolean flag (meaning true; "--name=false" sets false), and "--"
// to end the flags. A value flag always takes the next token, even one starting with '-', so
// "--total-active-users -5" is reported as a bad value rather than as an unknown flag.
//
// The parser knows only names and kinds; what a value means is for the value parsers
// (ctl/value_parsers.h) and the flag appliers (ctl/room_flags.h, ctl/pool_flags.h).
// Not thread-safe; a ParsedArgs is an immutable value once returned.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace anteroom::ctl {

enum class FlagKind {
  kValue,  // Needs a value: "--name=value" or "--name value".
  kBool,   // "--name" means true; a value only as "--name=value".
};

struct FlagSpec {
  std::string name;  // Without the leading dashes, e.g. "total-active-users".
  FlagKind kind = FlagKind::kValue;
  // Whether the flag may be given more than once; the values keep their order.
  bool repeatable = false;
  // One-letter alias used as "-x", or 0 for none.
  char short_name = 0;
};

class ParsedArgs {
 public:
  const std::vector<std::string>& positional() const { return positional_; }

  bool Has(absl::string_view name) const;
  // The value of a flag that may appear once; nullopt when absent. A kBool flag given
  // without a value reads as "true".
  std::optional<std::string> Get(absl::string_view name) const;
  // Every value of the flag in command-line order; empty when absent.
  std::vector<std::string> GetAll(absl::string_view name) const;
  // The names of the flags given, each once, sorted.
  std::vector<std::string> Names() const;

 private:
  friend absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                              absl::Span<const FlagSpec> specs);

  std::vector<std::string> positional_;
  // std::multimap keeps equal keys in insertion order, which is command-line order.
  std::multimap<std::string, std::string, std::less<>> flags_;
};

// Parses `args` (argv without the program name) against `specs`.
// Errors are InvalidArgument: an unknown flag ("unknown flag --foo"), a value flag with no
// value, a value given to a one-shot flag twice, or "-x" with an unknown letter.
absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> specs);

}  // namespace anteroom::ctl
