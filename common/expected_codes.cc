#include "common/expected_codes.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace anteroom::common {
namespace {

constexpr int kMinStatus = 100;
constexpr int kMaxStatus = 599;

// A status code: three digits, 100-599. No sign, no spaces inside.
bool ParseStatus(absl::string_view text, int* status) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() != 3) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return absl::SimpleAtoi(text, status) && *status >= kMinStatus && *status <= kMaxStatus;
}

// "2xx" (any case) for classes 1xx-5xx: sets the class digit.
bool ParseClass(absl::string_view text, int* digit) {
  if (text.size() != 3 || text[0] < '1' || text[0] > '5') return false;
  if (absl::ascii_tolower(text[1]) != 'x' || absl::ascii_tolower(text[2]) != 'x') return false;
  *digit = text[0] - '0';
  return true;
}

}  // namespace

absl::StatusOr<ExpectedCodes> ExpectedCodes::Parse(absl::string_view field,
                                                   absl::string_view text) {
  ExpectedCodes codes;
  auto set = [&codes](int lo, int hi) {
    for (int status = lo; status <= hi; ++status) codes.codes_.set(status - kMinStatus);
  };
  if (absl::StripAsciiWhitespace(text).empty()) {
    set(200, 299);
    return codes;
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    int digit = 0;
    int lo = 0;
    int hi = 0;
    if (ParseClass(part, &digit)) {
      set(digit * 100, digit * 100 + 99);
      continue;
    }
    std::vector<absl::string_view> range = absl::StrSplit(part, absl::MaxSplits('-', 1));
    if (range.size() == 1 && ParseStatus(range[0], &lo)) {
      set(lo, lo);
      continue;
    }
    if (range.size() == 2 && ParseStatus(range[0], &lo) && ParseStatus(range[1], &hi)) {
      if (lo > hi) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": '", part, "' is a range that ends before it starts"));
      }
      set(lo, hi);
      continue;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": '", part, "' is not a status code, range or class like 2xx"));
  }
  return codes;
}

}  // namespace anteroom::common
