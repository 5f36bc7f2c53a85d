#pragma once

// Points a validation error back at the flag that caused it. common/room_validation.h names
// proto field paths ("room.bypass[1].client_cidr: ..."); an operator typed flags, so the
// error gains the flag as a prefix ("--bypass-cidr: room.bypass[1].client_cidr: ...").

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "ctl/flag_parser.h"

namespace anteroom::ctl {

// A field path pattern and the flags that can set a field matching it.
struct FieldFlags {
  absl::string_view field_prefix;    // e.g. "room.bypass"
  absl::string_view field_contains;  // e.g. ".client_cidr"; empty matches any
  std::vector<absl::string_view> flags;
};

// Returns `status` with the same code and the message prefixed by "--<flag>: ", where <flag>
// is the first flag in `args` of the first entry that matches the field and has one; `status`
// unchanged when it is OK or no such flag exists. Entries are tried in order, so list the
// specific ones first and catch-alls (e.g. {"room", "", {"from-file"}}) last.
absl::Status AttributeToFlag(const absl::Status& status, const ParsedArgs& args,
                             absl::Span<const FieldFlags> table);

}  // namespace anteroom::ctl
