#include "ctl/cli.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ctl/cli_status.h"
#include "ctl/flag_parser.h"
#include "ctl/invocation.h"
#include "ctl/pool_commands.h"
#include "ctl/pool_flags.h"
#include "ctl/room_commands.h"
#include "ctl/room_flags.h"
#include "ctl/service_commands.h"
#include "ctl/usage.h"
#include "ctl/value_parsers.h"

namespace anteroom::ctl {
namespace {

constexpr absl::string_view kDefaultCoordinator = "127.0.0.1:7400";

enum class FlagSet { kGlobal, kRoom, kPool, kHealth };

struct CommandDef {
  absl::string_view group;
  absl::string_view verb;  // Empty for one-word commands ("health", "backup").
  int operands;            // 0, or 1 for the ID.
  FlagSet flags;
  CommandHandler handler;
};

const std::vector<CommandDef>& Commands() {
  static const auto* kCommands = new std::vector<CommandDef>{
      {"room", "create", 1, FlagSet::kRoom, RoomCreate},
      {"room", "get", 1, FlagSet::kGlobal, RoomGet},
      {"room", "list", 0, FlagSet::kGlobal, RoomList},
      {"room", "update", 1, FlagSet::kRoom, RoomUpdate},
      {"room", "delete", 1, FlagSet::kGlobal, RoomDelete},
      {"room", "status", 1, FlagSet::kGlobal, RoomStatus},
      {"pool", "create", 1, FlagSet::kPool, PoolCreate},
      {"pool", "get", 1, FlagSet::kGlobal, PoolGet},
      {"pool", "list", 0, FlagSet::kGlobal, PoolList},
      {"pool", "update", 1, FlagSet::kPool, PoolUpdate},
      {"pool", "delete", 1, FlagSet::kGlobal, PoolDelete},
      {"health", "", 0, FlagSet::kHealth, Health},
      {"keys", "rotate", 0, FlagSet::kGlobal, KeysRotate},
      {"backup", "", 0, FlagSet::kGlobal, Backup},
  };
  return *kCommands;
}

// The global flags. Pool create/update leave out --timeout, which is the probe's there.
std::vector<FlagSpec> GlobalFlags(bool with_timeout) {
  std::vector<FlagSpec> flags = {
      {"coordinator"}, {"token"},
      {"token-file"},  {"output", FlagKind::kValue, false, 'o'},
      {"rpc-timeout"}, {"help", FlagKind::kBool, false, 'h'},
  };
  if (with_timeout) flags.push_back({"timeout"});
  return flags;
}

std::vector<FlagSpec> FlagsFor(FlagSet set) {
  std::vector<FlagSpec> flags = GlobalFlags(set != FlagSet::kPool);
  const std::vector<FlagSpec>* extra = nullptr;
  static const auto* kHealthFlags = new std::vector<FlagSpec>{{"pool"}};
  switch (set) {
    case FlagSet::kGlobal:
      break;
    case FlagSet::kRoom:
      extra = &RoomFlagSpecs();
      break;
    case FlagSet::kPool:
      extra = &PoolFlagSpecs();
      break;
    case FlagSet::kHealth:
      extra = kHealthFlags;
      break;
  }
  if (extra != nullptr) flags.insert(flags.end(), extra->begin(), extra->end());
  return flags;
}

// Every flag of every command: enough to tell flag values from command words before the
// command is known. A flag has the same kind wherever it appears.
const std::vector<FlagSpec>& AllFlags() {
  static const auto* kAll = [] {
    auto* all = new std::vector<FlagSpec>(FlagsFor(FlagSet::kRoom));
    for (const FlagSpec& spec : PoolFlagSpecs()) all->push_back(spec);
    return all;
  }();
  return *kAll;
}

struct Prescan {
  std::vector<std::string> words;  // Positional arguments, in order.
  bool help = false;
};

// A lenient pass that never fails: unknown flags are skipped (the strict parse reports them
// once the command is known).
Prescan Scan(const std::vector<std::string>& args) {
  Prescan scan;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--") {
      scan.words.insert(scan.words.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      scan.words.emplace_back(arg);
      continue;
    }
    if (arg == "-h" || arg == "--help" || arg == "--help=true") scan.help = true;
    bool has_value = arg.find('=') != absl::string_view::npos;
    absl::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    name = name.substr(0, name.find('='));
    for (const FlagSpec& spec : AllFlags()) {
      bool match =
          arg[1] == '-' ? spec.name == name : (name.size() == 1 && spec.short_name == name[0]);
      if (match && spec.kind == FlagKind::kValue && !has_value) ++i;
      if (match) break;
    }
  }
  return scan;
}

int Report(const absl::Status& status, std::ostream& err) {
  if (IsUsageError(status)) {
    err << "anteroomctl: " << status.message() << '\n';
  } else {
    err << "anteroomctl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
        << '\n';
  }
  return ExitCode(status);
}

int UsageFailure(absl::string_view message, absl::string_view group, std::ostream& err) {
  err << "anteroomctl: " << message << "\n\n" << GroupUsage(group);
  return kExitUsage;
}

absl::StatusOr<std::string> ResolveToken(const ParsedArgs& args, const CliContext& context) {
  if (args.Has("token") && args.Has("token-file")) {
    return FlagError("token-file", "give either --token or --token-file, not both");
  }
  if (args.Has("token")) return *args.Get("token");
  if (args.Has("token-file")) {
    absl::StatusOr<std::string> token = ReadFileFlag("token-file", *args.Get("token-file"));
    if (!token.ok()) return token.status();
    std::string stripped(absl::StripAsciiWhitespace(*token));
    if (stripped.empty()) {
      return FlagError("token-file", absl::StrCat("'", *args.Get("token-file"), "' is empty"));
    }
    return stripped;
  }
  return context.env("ANTEROOM_TOKEN").value_or("");
}

absl::StatusOr<ConnectionOptions> ResolveConnection(const ParsedArgs& args,
                                                    const CliContext& context) {
  ConnectionOptions options;
  absl::StatusOr<std::vector<std::string>> addresses;
  if (args.Has("coordinator")) {
    addresses = ParseCoordinatorList("--coordinator", *args.Get("coordinator"));
  } else if (auto env = context.env("ANTEROOM_COORDINATOR"); env.has_value() && !env->empty()) {
    addresses = ParseCoordinatorList("ANTEROOM_COORDINATOR", *env);
  } else {
    addresses = ParseCoordinatorList("default", kDefaultCoordinator);
  }
  if (!addresses.ok()) return addresses.status();
  options.addresses = *std::move(addresses);

  absl::StatusOr<std::string> token = ResolveToken(args, context);
  if (!token.ok()) return token.status();
  options.token = *std::move(token);

  for (const char* flag : {"timeout", "rpc-timeout"}) {
    if (!args.Has(flag)) continue;
    absl::StatusOr<absl::Duration> timeout = ParsePositiveDuration(flag, *args.Get(flag));
    if (!timeout.ok()) return timeout.status();
    options.timeout = *timeout;
  }
  return options;
}

absl::StatusOr<OutputFormat> ResolveFormat(const ParsedArgs& args) {
  if (!args.Has("output")) return OutputFormat::kTable;
  return ParseEnum<OutputFormat>("output", *args.Get("output"),
                                 {{"table", OutputFormat::kTable}, {"json", OutputFormat::kJson}});
}

const CommandDef* Find(absl::string_view group, absl::string_view verb) {
  for (const CommandDef& def : Commands()) {
    if (def.group == group && def.verb == verb) return &def;
  }
  return nullptr;
}

bool IsGroup(absl::string_view group) {
  for (const CommandDef& def : Commands()) {
    if (def.group == group) return true;
  }
  return false;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const CliContext& context) {
  Prescan scan = Scan(args);
  if (scan.words.empty()) {
    if (scan.help) {
      context.out << TopUsage();
      return kExitOk;
    }
    context.err << TopUsage();
    return kExitUsage;
  }
  const std::string& group = scan.words[0];
  if (group == "help") {
    context.out << GroupUsage(scan.words.size() > 1 ? scan.words[1] : "");
    return kExitOk;
  }
  if (!IsGroup(group))
    return UsageFailure(absl::StrCat("unknown command '", group, "'"), "", context.err);

  const CommandDef* def = Find(group, "");
  size_t command_words = 1;
  if (def == nullptr) {
    if (scan.words.size() < 2) {
      if (scan.help) {
        context.out << GroupUsage(group);
        return kExitOk;
      }
      return UsageFailure(absl::StrCat(group, ": missing subcommand"), group, context.err);
    }
    def = Find(group, scan.words[1]);
    if (def == nullptr) {
      return UsageFailure(absl::StrCat("unknown command '", group, " ", scan.words[1], "'"), group,
                          context.err);
    }
    command_words = 2;
  }

  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, FlagsFor(def->flags));
  if (!parsed.ok()) return UsageFailure(parsed.status().message(), group, context.err);
  if (scan.help) {
    context.out << GroupUsage(group);
    return kExitOk;
  }
  std::string command = absl::StrCat(def->group, def->verb.empty() ? "" : " ", def->verb);
  std::vector<std::string> operands(parsed->positional().begin() + command_words,
                                    parsed->positional().end());
  if (static_cast<int>(operands.size()) < def->operands) {
    return UsageFailure(absl::StrCat(command, ": missing ID"), group, context.err);
  }
  if (static_cast<int>(operands.size()) > def->operands) {
    return UsageFailure(
        absl::StrCat(command, ": unexpected argument '", operands[def->operands], "'"), group,
        context.err);
  }

  absl::StatusOr<OutputFormat> format = ResolveFormat(*parsed);
  if (!format.ok()) return Report(UsageError(format.status()), context.err);
  absl::StatusOr<ConnectionOptions> options = ResolveConnection(*parsed, context);
  if (!options.ok()) return Report(UsageError(options.status()), context.err);

  std::unique_ptr<AdminApi> api = context.connect(*options);
  Invocation invocation{*parsed, operands, *api, *format, context.out};
  absl::Status status = def->handler(invocation);
  if (!status.ok()) return Report(status, context.err);
  return kExitOk;
}

}  // namespace anteroom::ctl
