#pragma once

// YAML <-> protobuf through reflection, for configuration files and --print-config.
//
// Mapping (the key of a YAML map entry is the proto field name; the JSON name such as
// "pathPrefix" is accepted too):
//   int32, int64, uint32, uint64 (and the sint/fixed variants)  decimal integer, e.g. 42, -7
//   double, float        number, also .inf, -.inf, .nan
//   bool                 true/false (any case), yes/no, on/off
//   string               the scalar's text ("123" and 123 both give the string "123")
//   bytes                the scalar's text, or base64 when tagged !!binary
//   enum                 full value name (QUEUEING_METHOD_FIFO), the part after the enum's
//                        common prefix in any case ("fifo"), or the number of a defined value
//   message              map
//   repeated             sequence
//   map<K, V>            map
//   proto3 optional      as its type; present once written, even when written as the default
//   oneof                at most one member per map
// A null value (`key:` or `key: ~`) leaves the field unset. A key may appear once per map.
//
// Every error is InvalidArgument and reads "<source>:<line>:<column>: <field path>: <reason>",
// lines and columns 1-based, e.g.
//   "agent.yaml:7:15: pools[0].origins[1].port: expected an integer, got 'abc'".
//
// Thread-safe: the functions keep no state.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace anteroom::common {

// Parses `yaml_text` (a single YAML document whose root is a map, or empty) into `*out`.
// `source_name` names the text in errors, usually the file path.
// On success `*out` holds exactly what the text sets (it is cleared first).
// On failure returns InvalidArgument and leaves `*out` untouched.
// REQUIRES: out != nullptr.
absl::Status ParseYamlInto(std::string_view yaml_text, std::string_view source_name,
                           google::protobuf::Message* out);

// Reads the file at `path` and parses it with ParseYamlInto, naming errors after `path`.
// Returns NotFound when the file does not exist, InvalidArgument (naming `path`) when it cannot
// be read or does not parse. `*out` is untouched on failure.
// REQUIRES: out != nullptr.
absl::Status LoadYamlFile(const std::string& path, google::protobuf::Message* out);

// Renders the fields of `msg` that are set (non-default, or present for fields with presence)
// as block YAML that ParseYamlInto reads back to an equal message. Enums use full value names;
// map entries are sorted by key. An empty message renders as "{}\n".
std::string MessageToYaml(const google::protobuf::Message& msg);

// Parses `text` as one value of the scalar or enum `field` and sets it in `*msg`, appending
// when the field is repeated. Used for YAML scalars, flags and environment variables.
// Returns InvalidArgument with only the reason (e.g. "expected an integer, got 'abc'");
// callers add the location. `*msg` is unchanged on failure.
// REQUIRES: field belongs to msg's type and is neither a message nor a map field.
absl::Status SetFieldFromText(const google::protobuf::FieldDescriptor& field, std::string_view text,
                              google::protobuf::Message* msg);

// The names an enum value is accepted by in short form, in declaration order: the part after the
// enum's common prefix in lower case ("fifo" for QUEUEING_METHOD_FIFO), or the full name of a
// value without that prefix. For usage texts and error messages.
std::vector<std::string> ShortEnumNames(const google::protobuf::EnumDescriptor& e);

}  // namespace anteroom::common
