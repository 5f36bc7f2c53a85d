#pragma once

// ExpectedCodes: the set of HTTP status codes a health monitor accepts, parsed from the
// operator's text: classes ("2xx"), single codes ("200") and ranges ("200-299"), comma
// separated. Empty text means "2xx".

#include <bitset>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace anteroom::common {

class ExpectedCodes {
 public:
  // InvalidArgument naming `field` and the part that is not a code, range or class.
  static absl::StatusOr<ExpectedCodes> Parse(absl::string_view field, absl::string_view text);

  bool Matches(int status) const {
    return status >= 100 && status <= 599 && codes_.test(static_cast<size_t>(status - 100));
  }

 private:
  std::bitset<500> codes_;  // Bit i = status 100 + i.
};

}  // namespace anteroom::common
