#pragma once

// A daemon's configuration from three layers, generic over the config message
// (anteroom.v1.CoordinatorConfig, AgentConfig): flags win over environment variables, which win
// over the YAML file.
//
//   file         --config=PATH or --config PATH, else $ANTEROOM_CONFIG; none = no file layer.
//                Every field can be set there (see yaml_proto.h).
//   environment  ANTEROOM_<FIELD NAME IN CAPITALS>, e.g. ANTEROOM_DATA_DIR for data_dir.
//                An empty value counts as unset: compose files and Helm charts render unset
//                values as empty strings. ANTEROOM_* names matching no field are ignored, since
//                several daemons share one environment.
//   flags        --field-name=VALUE or --field-name VALUE (underscores also accepted);
//                a bool flag alone (--print-config) means true; --print-config=false works.
//                The last occurrence of a flag wins.
// Flags and environment variables cover top-level scalar and enum fields, and repeated scalar
// fields as comma-separated values (an empty value gives an empty list). Message and map
// fields are set in the file only. Values are read as in the file: enums by name or number.
//
// Thread-safe: no state.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace anteroom::common {

// Builds the configuration from `args` (the command line without argv[0]) and `env` (as from
// EnvironmentFromProcess()).
// On success `*config` is replaced by the result: fields no layer sets have proto defaults.
// Errors, with `*config` untouched:
//   InvalidArgument naming the flag or variable: unknown flag, missing value, a value that does
//     not parse ("flag --shard-index: expected an integer, got 'x'"), a positional argument,
//     a flag for a field that only the file can set;
//   NotFound / InvalidArgument from LoadYamlFile for the file, naming its path and position.
// REQUIRES: config != nullptr.
absl::Status LoadDaemonConfig(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env,
                              google::protobuf::Message* config);

// One line per flag: "  --data-dir=STRING  (env ANTEROOM_DATA_DIR)", enums with their
// accepted values, then the fields that only the file can set. Ends with a newline.
std::string ConfigUsage(const google::protobuf::Descriptor& descriptor);

// The process environment's ANTEROOM_* variables (and no others).
std::map<std::string, std::string> EnvironmentFromProcess();

}  // namespace anteroom::common
