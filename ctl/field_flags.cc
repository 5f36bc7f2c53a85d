#include "ctl/field_flags.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace anteroom::ctl {

absl::Status AttributeToFlag(const absl::Status& status, const ParsedArgs& args,
                             absl::Span<const FieldFlags> table) {
  if (status.ok()) return status;
  absl::string_view message = status.message();
  absl::string_view field = message.substr(0, message.find(": "));
  for (const FieldFlags& entry : table) {
    if (!absl::StartsWith(field, entry.field_prefix)) continue;
    if (!entry.field_contains.empty() && !absl::StrContains(field, entry.field_contains)) continue;
    for (absl::string_view flag : entry.flags) {
      if (args.Has(flag)) {
        return absl::Status(status.code(), absl::StrCat("--", flag, ": ", message));
      }
    }
  }
  return status;
}

}  // namespace anteroom::ctl
