#include "common/config_loader.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/yaml_proto.h"

extern char** environ;  // POSIX; read once per call, never written.

namespace anteroom::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

constexpr absl::string_view kConfigFlag = "config";
constexpr char kConfigEnv[] = "ANTEROOM_CONFIG";
constexpr absl::string_view kEnvPrefix = "ANTEROOM_";

// Map fields are repeated messages to reflection, so this excludes them too.
bool SettableOutsideFile(const FieldDescriptor& field) {
  return field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
}

bool IsPlainBool(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL && !field.is_repeated();
}

std::string FlagName(const FieldDescriptor& field) {
  std::string name = field.name();
  std::replace(name.begin(), name.end(), '_', '-');
  return absl::StrCat("--", name);
}

std::string EnvName(const FieldDescriptor& field) {
  return absl::StrCat(kEnvPrefix, absl::AsciiStrToUpper(field.name()));
}

// Sets `field` from one flag or variable; `origin` ("flag --x", "environment variable X")
// prefixes any error. A repeated field is replaced by the comma-separated list.
absl::Status ApplyValue(const FieldDescriptor& field, const std::string& value,
                        absl::string_view origin, Message* msg) {
  if (field.is_repeated()) {
    msg->GetReflection()->ClearField(msg, &field);
    if (value.empty()) return absl::OkStatus();
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      item = absl::StripAsciiWhitespace(item);
      absl::Status s = SetFieldFromText(field, std::string_view(item.data(), item.size()), msg);
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(origin, ": ", s.message()));
    }
    return absl::OkStatus();
  }
  absl::Status s = SetFieldFromText(field, value, msg);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(origin, ": ", s.message()));
  return absl::OkStatus();
}

struct FlagSetting {
  std::string origin;  // "flag --data-dir", for errors.
  const FieldDescriptor* field;
  std::string value;
};

struct ParsedArgs {
  std::optional<std::string> config_path;
  std::vector<FlagSetting> settings;
};

// Splits the command line into flag settings and checks each value, so that a typo on the
// command line is reported before the file is read.
absl::Status ParseArgs(const std::vector<std::string>& args, const Message& prototype,
                       ParsedArgs* parsed) {
  const Descriptor& descriptor = *prototype.GetDescriptor();
  std::unique_ptr<Message> check(prototype.New());
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--" && i + 1 < args.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected positional argument '", args[i + 1], "'"));
    }
    if (arg == "--") continue;
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected positional argument '", args[i], "'"));
    }
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      value = std::string(arg.substr(eq + 1));
      arg = arg.substr(0, eq);
    }
    std::string name(arg);
    std::replace(name.begin(), name.end(), '-', '_');
    const FieldDescriptor* field = name == kConfigFlag ? nullptr : descriptor.FindFieldByName(name);
    std::string flag = absl::StrCat("--", arg);
    if (name != kConfigFlag) {
      if (field == nullptr || name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown flag ", flag));
      }
      if (!SettableOutsideFile(*field)) {
        return absl::InvalidArgumentError(absl::StrCat("flag ", flag, ": '", field->name(),
                                                       "' can only be set in the config file"));
      }
    }
    if (!value.has_value()) {
      if (field != nullptr && IsPlainBool(*field)) {
        value = "true";
      } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " needs a value"));
      }
    }
    if (field == nullptr) {
      if (value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat("flag ", flag, " needs a value"));
      }
      parsed->config_path = *value;
      continue;
    }
    std::string origin = absl::StrCat("flag ", flag);
    if (absl::Status s = ApplyValue(*field, *value, origin, check.get()); !s.ok()) return s;
    parsed->settings.push_back({std::move(origin), field, *std::move(value)});
  }
  return absl::OkStatus();
}

std::string ValueHint(const FieldDescriptor& field) {
  std::string hint =
      field.cpp_type() == FieldDescriptor::CPPTYPE_ENUM
          ? absl::StrCat("{", absl::StrJoin(ShortEnumNames(*field.enum_type()), "|"), "}")
          : absl::AsciiStrToUpper(field.type_name());
  return field.is_repeated() ? absl::StrCat(hint, ",...") : hint;
}

}  // namespace

absl::Status LoadDaemonConfig(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env, Message* config) {
  const Descriptor& descriptor = *config->GetDescriptor();
  ParsedArgs parsed;
  if (absl::Status s = ParseArgs(args, *config, &parsed); !s.ok()) return s;

  std::unique_ptr<Message> result(config->New());
  std::optional<std::string> path = parsed.config_path;
  if (!path.has_value()) {
    auto it = env.find(kConfigEnv);
    if (it != env.end() && !it->second.empty()) path = it->second;
  }
  if (path.has_value()) {
    if (absl::Status s = LoadYamlFile(*path, result.get()); !s.ok()) return s;
  }

  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    if (!SettableOutsideFile(field)) continue;
    std::string name = EnvName(field);
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) continue;
    absl::Status s =
        ApplyValue(field, it->second, absl::StrCat("environment variable ", name), result.get());
    if (!s.ok()) return s;
  }

  for (const FlagSetting& setting : parsed.settings) {
    absl::Status s = ApplyValue(*setting.field, setting.value, setting.origin, result.get());
    if (!s.ok()) return s;
  }
  config->GetReflection()->Swap(result.get(), config);
  return absl::OkStatus();
}

std::string ConfigUsage(const Descriptor& descriptor) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.emplace_back(absl::StrCat("--", kConfigFlag, "=PATH"),
                    absl::StrCat("YAML configuration file (env ", kConfigEnv, ")"));
  std::vector<std::string> file_only;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor& field = *descriptor.field(i);
    if (!SettableOutsideFile(field)) {
      file_only.push_back(field.name());
      continue;
    }
    std::string flag = IsPlainBool(field) ? absl::StrCat(FlagName(field), "[=BOOL]")
                                          : absl::StrCat(FlagName(field), "=", ValueHint(field));
    rows.emplace_back(std::move(flag), absl::StrCat("(env ", EnvName(field), ")"));
  }
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::string out = "Flags win over environment variables, which win over the config file.\n";
  for (const auto& [flag, description] : rows) {
    absl::StrAppend(&out, "  ", flag, std::string(width - flag.size() + 2, ' '), description, "\n");
  }
  if (!file_only.empty()) {
    absl::StrAppend(&out, "Only in the config file: ", absl::StrJoin(file_only, ", "), "\n");
  }
  return out;
}

std::map<std::string, std::string> EnvironmentFromProcess() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == absl::string_view::npos || !absl::StartsWith(text, kEnvPrefix)) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace anteroom::common
