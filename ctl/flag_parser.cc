#include "ctl/flag_parser.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace anteroom::ctl {
namespace {

const FlagSpec* FindByName(absl::Span<const FlagSpec> specs, absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindByShortName(absl::Span<const FlagSpec> specs, char short_name) {
  for (const FlagSpec& spec : specs) {
    if (spec.short_name != 0 && spec.short_name == short_name) return &spec;
  }
  return nullptr;
}

}  // namespace

bool ParsedArgs::Has(absl::string_view name) const { return flags_.find(name) != flags_.end(); }

std::optional<std::string> ParsedArgs::Get(absl::string_view name) const {
  auto [begin, end] = flags_.equal_range(name);
  if (begin == end) return std::nullopt;
  return std::prev(end)->second;
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view name) const {
  std::vector<std::string> values;
  auto [begin, end] = flags_.equal_range(name);
  for (auto it = begin; it != end; ++it) values.push_back(it->second);
  return values;
}

std::vector<std::string> ParsedArgs::Names() const {
  std::set<std::string> names;
  for (const auto& [name, value] : flags_) names.insert(name);
  return {names.begin(), names.end()};
}

absl::StatusOr<ParsedArgs> ParseArgs(absl::Span<const std::string> args,
                                     absl::Span<const FlagSpec> specs) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      parsed.positional_.insert(parsed.positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    // "-" alone is a positional (conventionally stdin), as is anything not starting with '-'.
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.push_back(arg);
      continue;
    }

    const FlagSpec* spec = nullptr;
    std::string shown;  // The flag as the user wrote it, for messages.
    std::optional<std::string> inline_value;
    if (absl::StartsWith(arg, "--")) {
      absl::string_view body = absl::string_view(arg).substr(2);
      size_t eq = body.find('=');
      absl::string_view name = body.substr(0, eq);
      if (eq != absl::string_view::npos) inline_value = std::string(body.substr(eq + 1));
      shown = absl::StrCat("--", name);
      spec = FindByName(specs, name);
    } else {
      shown = arg.substr(0, 2);
      spec = FindByShortName(specs, arg[1]);
      if (arg.size() > 2) inline_value = arg.substr(arg[2] == '=' ? 3 : 2);
    }
    if (spec == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", shown));

    std::string value;
    if (inline_value.has_value()) {
      value = *inline_value;
    } else if (spec->kind == FlagKind::kBool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(shown, ": needs a value"));
    }

    if (!spec->repeatable && parsed.flags_.count(spec->name) > 0) {
      return absl::InvalidArgumentError(absl::StrCat("--", spec->name, ": given more than once"));
    }
    parsed.flags_.emplace(spec->name, std::move(value));
  }
  return parsed;
}

}  // namespace anteroom::ctl
