#include "common/yaml_proto.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace anteroom::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::OneofDescriptor;
using google::protobuf::Reflection;

// Configuration files are small; this only stops a wrong path (a log, a device) from being
// read whole into memory.
constexpr size_t kMaxFileBytes = 16 << 20;

constexpr absl::string_view kBinaryTag = "tag:yaml.org,2002:binary";

absl::Status Invalid(absl::string_view reason) { return absl::InvalidArgumentError(reason); }

// ---- Scalars ------------------------------------------------------------------------------

bool LooksLikeInteger(absl::string_view text) {
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) text.remove_prefix(1);
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Accepts what LooksLikeInteger accepts and fits in [lo, hi].
absl::Status ParseSigned(absl::string_view text, absl::string_view type, int64_t lo, int64_t hi,
                         int64_t* out) {
  if (!LooksLikeInteger(text)) {
    return Invalid(absl::StrCat("expected an integer, got '", text, "'"));
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < lo || value > hi) {
    return Invalid(absl::StrCat("out of range for ", type, " (got ", text, ")"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseUnsigned(absl::string_view text, absl::string_view type, uint64_t hi,
                           uint64_t* out) {
  if (!LooksLikeInteger(text)) {
    return Invalid(absl::StrCat("expected an integer, got '", text, "'"));
  }
  uint64_t value = 0;
  if (text.front() == '-' || !absl::SimpleAtoi(text, &value) || value > hi) {
    return Invalid(absl::StrCat("out of range for ", type, " (got ", text, ")"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseDouble(absl::string_view text, double* out) {
  std::string lower = absl::AsciiStrToLower(text);
  absl::string_view rest = lower;
  bool negative = absl::ConsumePrefix(&rest, "-");
  if (!negative) absl::ConsumePrefix(&rest, "+");
  if (rest == ".inf") {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return absl::OkStatus();
  }
  if (lower == ".nan") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return absl::OkStatus();
  }
  double value = 0;
  if (text.empty() || absl::ascii_isspace(text.front()) || absl::ascii_isspace(text.back()) ||
      !absl::SimpleAtod(text, &value)) {
    return Invalid(absl::StrCat("expected a number, got '", text, "'"));
  }
  if (std::isinf(value) && lower.find("inf") == std::string::npos) {
    return Invalid(absl::StrCat("out of range for double (got ", text, ")"));
  }
  *out = value;
  return absl::OkStatus();
}

absl::Status ParseBool(absl::string_view text, bool* out) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true" || lower == "yes" || lower == "on") {
    *out = true;
  } else if (lower == "false" || lower == "no" || lower == "off") {
    *out = false;
  } else {
    return Invalid(absl::StrCat("expected true or false, got '", text, "'"));
  }
  return absl::OkStatus();
}

// "QueueingMethod" -> "QUEUEING_METHOD".
std::string UpperSnake(absl::string_view camel) {
  std::string out;
  for (size_t i = 0; i < camel.size(); ++i) {
    char c = camel[i];
    bool boundary = i > 0 && absl::ascii_isupper(c) &&
                    (!absl::ascii_isupper(camel[i - 1]) ||
                     (i + 1 < camel.size() && absl::ascii_islower(camel[i + 1])));
    if (boundary) out.push_back('_');
    out.push_back(absl::ascii_toupper(c));
  }
  return out;
}

// The prefix every value of `e` shares by the proto style guide ("QUEUEING_METHOD_"), or the
// longest shared prefix ending in '_' for enums that do not follow it.
std::string EnumPrefix(const EnumDescriptor& e) {
  std::string prefix = UpperSnake(e.name()) + "_";
  bool all = true;
  for (int i = 0; i < e.value_count(); ++i) {
    all = all && absl::StartsWith(e.value(i)->name(), prefix);
  }
  if (all) return prefix;
  prefix = e.value(0)->name();
  for (int i = 1; i < e.value_count(); ++i) {
    const std::string& name = e.value(i)->name();
    size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  size_t underscore = prefix.rfind('_');
  return underscore == std::string::npos ? "" : prefix.substr(0, underscore + 1);
}

std::string ShortEnumName(const EnumValueDescriptor& value, absl::string_view prefix) {
  absl::string_view name = value.name();
  if (!prefix.empty() && absl::ConsumePrefix(&name, prefix) && !name.empty()) {
    return absl::AsciiStrToLower(name);
  }
  return value.name();
}

}  // namespace

std::vector<std::string> ShortEnumNames(const EnumDescriptor& e) {
  std::string prefix = EnumPrefix(e);
  std::vector<std::string> names;
  for (int i = 0; i < e.value_count(); ++i) names.push_back(ShortEnumName(*e.value(i), prefix));
  return names;
}

namespace {

absl::Status ParseEnum(const EnumDescriptor& e, absl::string_view text,
                       const EnumValueDescriptor** out) {
  std::string prefix = EnumPrefix(e);
  std::string wanted = absl::AsciiStrToUpper(text);
  std::replace(wanted.begin(), wanted.end(), '-', '_');
  for (int i = 0; i < e.value_count(); ++i) {
    const EnumValueDescriptor* value = e.value(i);
    if (value->name() == wanted || value->name() == prefix + wanted) {
      *out = value;
      return absl::OkStatus();
    }
  }
  int64_t number = 0;
  if (LooksLikeInteger(text) && absl::SimpleAtoi(text, &number) &&
      number >= std::numeric_limits<int32_t>::min() &&
      number <= std::numeric_limits<int32_t>::max()) {
    if (const EnumValueDescriptor* value = e.FindValueByNumber(static_cast<int>(number))) {
      *out = value;
      return absl::OkStatus();
    }
  }
  return Invalid(absl::StrCat("unknown value '", text, "' for ", e.full_name(), "; accepted: ",
                              absl::StrJoin(ShortEnumNames(e), ", "), " (or the full name such as ",
                              e.value(e.value_count() - 1)->name(), ", or the number)"));
}

// ---- YAML -> message ----------------------------------------------------------------------

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return absl::StrCat("'", node.Scalar(), "'");
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

absl::string_view Expectation(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "an integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "an enum value";
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "a map";
  }
  return "a value";
}

// Reads one document into a message. Errors carry the position of the offending node, or of
// the nearest enclosing node when yaml-cpp has none for it.
class YamlReader {
 public:
  explicit YamlReader(absl::string_view source) : source_(source) {}

  absl::Status ReadMessage(const YAML::Node& node, const YAML::Mark& near, const std::string& path,
                           Message* msg) const {
    YAML::Mark mark = MarkOf(node, near);
    if (!node.IsMap()) {
      return Error(mark, path, absl::StrCat("expected a map, got ", Describe(node)));
    }
    const Descriptor& desc = *msg->GetDescriptor();
    std::set<std::string> seen;
    std::vector<std::pair<const OneofDescriptor*, const FieldDescriptor*>> oneofs_set;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      const YAML::Node& value = entry.second;
      YAML::Mark key_mark = MarkOf(key, mark);
      if (!key.IsScalar()) {
        return Error(key_mark, path, absl::StrCat("expected a field name, got ", Describe(key)));
      }
      const std::string& name = key.Scalar();
      std::string field_path = path.empty() ? name : absl::StrCat(path, ".", name);
      const FieldDescriptor* field = desc.FindFieldByName(name);
      if (field == nullptr) field = desc.FindFieldByCamelcaseName(name);
      if (field == nullptr) {
        return Error(key_mark, field_path,
                     absl::StrCat("unknown field '", name, "' in ", desc.full_name()));
      }
      if (!seen.insert(field->name()).second) {
        return Error(key_mark, field_path, "set more than once");
      }
      const OneofDescriptor* oneof = field->real_containing_oneof();
      if (oneof != nullptr && !value.IsNull()) {
        for (const auto& [other_oneof, other] : oneofs_set) {
          if (other_oneof == oneof) {
            return Error(key_mark, field_path,
                         absl::StrCat("only one of oneof '", oneof->name(), "' may be set, and '",
                                      other->name(), "' already is"));
          }
        }
        oneofs_set.emplace_back(oneof, field);
      }
      if (absl::Status s = ReadField(*field, value, key_mark, field_path, msg); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status ReadField(const FieldDescriptor& field, const YAML::Node& value,
                         const YAML::Mark& near, const std::string& path, Message* msg) const {
    if (value.IsNull()) return absl::OkStatus();
    YAML::Mark mark = MarkOf(value, near);
    if (field.is_map()) return ReadMapField(field, value, mark, path, msg);
    if (field.is_repeated()) {
      if (!value.IsSequence()) {
        return Error(mark, path, absl::StrCat("expected a sequence, got ", Describe(value)));
      }
      size_t index = 0;
      for (const auto& element : value) {
        absl::Status s =
            ReadValue(field, element, mark, absl::StrCat(path, "[", index++, "]"), msg);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    }
    return ReadValue(field, value, mark, path, msg);
  }

  absl::Status ReadMapField(const FieldDescriptor& field, const YAML::Node& value,
                            const YAML::Mark& mark, const std::string& path, Message* msg) const {
    if (!value.IsMap()) {
      return Error(mark, path, absl::StrCat("expected a map, got ", Describe(value)));
    }
    const Descriptor& entry_type = *field.message_type();
    const FieldDescriptor& key_field = *entry_type.map_key();
    const FieldDescriptor& value_field = *entry_type.map_value();
    std::set<std::string> seen;
    for (const auto& entry : value) {
      YAML::Mark key_mark = MarkOf(entry.first, mark);
      if (!entry.first.IsScalar()) {
        return Error(key_mark, path,
                     absl::StrCat("expected a map key, got ", Describe(entry.first)));
      }
      const std::string& key = entry.first.Scalar();
      std::string entry_path = absl::StrCat(path, "[\"", absl::CEscape(key), "\"]");
      if (!seen.insert(key).second) return Error(key_mark, entry_path, "set more than once");
      Message* map_entry = msg->GetReflection()->AddMessage(msg, &field);
      if (absl::Status s = SetFieldFromText(key_field, key, map_entry); !s.ok()) {
        return Error(key_mark, entry_path, s.message());
      }
      if (entry.second.IsNull()) continue;  // The entry keeps the value type's default.
      absl::Status s = ReadValue(value_field, entry.second, key_mark, entry_path, map_entry);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // One value of `field`: set when singular, appended when repeated.
  absl::Status ReadValue(const FieldDescriptor& field, const YAML::Node& node,
                         const YAML::Mark& near, const std::string& path, Message* msg) const {
    YAML::Mark mark = MarkOf(node, near);
    const Reflection& reflection = *msg->GetReflection();
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Message* sub = field.is_repeated() ? reflection.AddMessage(msg, &field)
                                         : reflection.MutableMessage(msg, &field);
      if (node.IsNull()) return absl::OkStatus();  // "- ~" in a sequence: an empty message.
      return ReadMessage(node, mark, path, sub);
    }
    if (!node.IsScalar()) {
      return Error(mark, path,
                   absl::StrCat("expected ", Expectation(field), ", got ", Describe(node)));
    }
    if (field.type() == FieldDescriptor::TYPE_BYTES && node.Tag() == kBinaryTag) {
      std::string decoded;
      if (!absl::Base64Unescape(node.Scalar(), &decoded)) {
        return Error(mark, path, "invalid base64 in !!binary value");
      }
      if (field.is_repeated()) {
        reflection.AddString(msg, &field, std::move(decoded));
      } else {
        reflection.SetString(msg, &field, std::move(decoded));
      }
      return absl::OkStatus();
    }
    if (absl::Status s = SetFieldFromText(field, node.Scalar(), msg); !s.ok()) {
      return Error(mark, path, s.message());
    }
    return absl::OkStatus();
  }

  static YAML::Mark MarkOf(const YAML::Node& node, const YAML::Mark& fallback) {
    if (!node.IsDefined()) return fallback;
    YAML::Mark mark = node.Mark();
    return mark.is_null() ? fallback : mark;
  }

  absl::Status Error(const YAML::Mark& mark, absl::string_view path,
                     absl::string_view reason) const {
    return Invalid(absl::StrCat(source_, ":", mark.line + 1, ":", mark.column + 1, ": ",
                                path.empty() ? "(top level)" : path, ": ", reason));
  }

  std::string source_;
};

// ---- Message -> YAML ----------------------------------------------------------------------

std::string FormatDouble(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

// Strings a YAML reader would take for a null, a bool or a number are quoted, so that other
// tools read them back as strings too.
bool NeedsQuotes(const std::string& text) {
  if (text.empty()) return true;
  std::string lower = absl::AsciiStrToLower(text);
  static constexpr absl::string_view kSpecial[] = {"~",     "null", "true", "false", "yes",
                                                   "no",    "on",   "off",  ".inf",  "-.inf",
                                                   "+.inf", ".nan", "y",    "n"};
  for (absl::string_view special : kSpecial) {
    if (lower == special) return true;
  }
  double ignored;
  return absl::SimpleAtod(text, &ignored);
}

void EmitString(const std::string& text, YAML::Emitter& out) {
  if (NeedsQuotes(text)) out << YAML::DoubleQuoted;
  out << text;
}

void EmitMessage(const Message& msg, YAML::Emitter& out);

// One value of `field`; `index` < 0 for a singular field.
void EmitValue(const Message& msg, const FieldDescriptor& field, int index, YAML::Emitter& out) {
  const Reflection& r = *msg.GetReflection();
  bool rep = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      out << absl::StrCat(rep ? r.GetRepeatedInt32(msg, &field, index) : r.GetInt32(msg, &field));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      out << absl::StrCat(rep ? r.GetRepeatedInt64(msg, &field, index) : r.GetInt64(msg, &field));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << absl::StrCat(rep ? r.GetRepeatedUInt32(msg, &field, index) : r.GetUInt32(msg, &field));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out << absl::StrCat(rep ? r.GetRepeatedUInt64(msg, &field, index) : r.GetUInt64(msg, &field));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << FormatDouble(rep ? r.GetRepeatedDouble(msg, &field, index) : r.GetDouble(msg, &field));
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      // Through the float's shortest decimal form, so 0.1f prints as 0.1.
      {
        float value = rep ? r.GetRepeatedFloat(msg, &field, index) : r.GetFloat(msg, &field);
        char buf[64];
        auto result = std::to_chars(buf, buf + sizeof(buf), value);
        out << (std::isfinite(value) ? std::string(buf, result.ptr) : FormatDouble(value));
      }
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << ((rep ? r.GetRepeatedBool(msg, &field, index) : r.GetBool(msg, &field)) ? "true"
                                                                                     : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = rep ? r.GetRepeatedEnumValue(msg, &field, index) : r.GetEnumValue(msg, &field);
      const EnumValueDescriptor* value = field.enum_type()->FindValueByNumber(number);
      out << (value != nullptr ? value->name() : absl::StrCat(number));
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string text = rep ? r.GetRepeatedString(msg, &field, index) : r.GetString(msg, &field);
      if (field.type() == FieldDescriptor::TYPE_BYTES) {
        out << YAML::Binary(reinterpret_cast<const unsigned char*>(text.data()), text.size());
      } else {
        EmitString(text, out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      EmitMessage(rep ? r.GetRepeatedMessage(msg, &field, index) : r.GetMessage(msg, &field), out);
      break;
  }
}

// Map entries sorted by key: numerically for integer keys, bytewise otherwise.
std::vector<const Message*> SortedMapEntries(const Message& msg, const FieldDescriptor& field) {
  const Reflection& r = *msg.GetReflection();
  const FieldDescriptor& key = *field.message_type()->map_key();
  std::vector<const Message*> entries;
  for (int i = 0; i < r.FieldSize(msg, &field); ++i) {
    entries.push_back(&r.GetRepeatedMessage(msg, &field, i));
  }
  auto less = [&key](const Message* a, const Message* b) {
    const Reflection& ra = *a->GetReflection();
    const Reflection& rb = *b->GetReflection();
    switch (key.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return ra.GetInt32(*a, &key) < rb.GetInt32(*b, &key);
      case FieldDescriptor::CPPTYPE_INT64:
        return ra.GetInt64(*a, &key) < rb.GetInt64(*b, &key);
      case FieldDescriptor::CPPTYPE_UINT32:
        return ra.GetUInt32(*a, &key) < rb.GetUInt32(*b, &key);
      case FieldDescriptor::CPPTYPE_UINT64:
        return ra.GetUInt64(*a, &key) < rb.GetUInt64(*b, &key);
      case FieldDescriptor::CPPTYPE_BOOL:
        return ra.GetBool(*a, &key) < rb.GetBool(*b, &key);
      default:
        return ra.GetString(*a, &key) < rb.GetString(*b, &key);
    }
  };
  std::sort(entries.begin(), entries.end(), less);
  return entries;
}

void EmitMessage(const Message& msg, YAML::Emitter& out) {
  const Reflection& r = *msg.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(msg, &fields);
  out << YAML::BeginMap;
  for (const FieldDescriptor* field : fields) {
    out << YAML::Key << field->name() << YAML::Value;
    if (field->is_map()) {
      const FieldDescriptor& key = *field->message_type()->map_key();
      const FieldDescriptor& value = *field->message_type()->map_value();
      out << YAML::BeginMap;
      for (const Message* entry : SortedMapEntries(msg, *field)) {
        out << YAML::Key;
        EmitValue(*entry, key, -1, out);
        out << YAML::Value;
        EmitValue(*entry, value, -1, out);
      }
      out << YAML::EndMap;
    } else if (field->is_repeated()) {
      out << YAML::BeginSeq;
      for (int i = 0; i < r.FieldSize(msg, field); ++i) EmitValue(msg, *field, i, out);
      out << YAML::EndSeq;
    } else {
      EmitValue(msg, *field, -1, out);
    }
  }
  out << YAML::EndMap;
}

}  // namespace

absl::Status SetFieldFromText(const FieldDescriptor& field, std::string_view std_text,
                              Message* msg) {
  absl::string_view text(std_text.data(), std_text.size());
  const Reflection& r = *msg->GetReflection();
  const FieldDescriptor* f = &field;
  bool rep = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int64_t v = 0;
      absl::Status s = ParseSigned(text, "int32", std::numeric_limits<int32_t>::min(),
                                   std::numeric_limits<int32_t>::max(), &v);
      if (!s.ok()) return s;
      rep ? r.AddInt32(msg, f, static_cast<int32_t>(v))
          : r.SetInt32(msg, f, static_cast<int32_t>(v));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      absl::Status s = ParseSigned(text, "int64", std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max(), &v);
      if (!s.ok()) return s;
      rep ? r.AddInt64(msg, f, v) : r.SetInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint64_t v = 0;
      absl::Status s = ParseUnsigned(text, "uint32", std::numeric_limits<uint32_t>::max(), &v);
      if (!s.ok()) return s;
      rep ? r.AddUInt32(msg, f, static_cast<uint32_t>(v))
          : r.SetUInt32(msg, f, static_cast<uint32_t>(v));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      absl::Status s = ParseUnsigned(text, "uint64", std::numeric_limits<uint64_t>::max(), &v);
      if (!s.ok()) return s;
      rep ? r.AddUInt64(msg, f, v) : r.SetUInt64(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = 0;
      if (absl::Status s = ParseDouble(text, &v); !s.ok()) return s;
      rep ? r.AddDouble(msg, f, v) : r.SetDouble(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double v = 0;
      if (absl::Status s = ParseDouble(text, &v); !s.ok()) return s;
      if (std::isfinite(v) && std::abs(v) > std::numeric_limits<float>::max()) {
        return Invalid(absl::StrCat("out of range for float (got ", text, ")"));
      }
      rep ? r.AddFloat(msg, f, static_cast<float>(v)) : r.SetFloat(msg, f, static_cast<float>(v));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v = false;
      if (absl::Status s = ParseBool(text, &v); !s.ok()) return s;
      rep ? r.AddBool(msg, f, v) : r.SetBool(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* v = nullptr;
      if (absl::Status s = ParseEnum(*field.enum_type(), text, &v); !s.ok()) return s;
      rep ? r.AddEnum(msg, f, v) : r.SetEnum(msg, f, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      rep ? r.AddString(msg, f, std::string(text)) : r.SetString(msg, f, std::string(text));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Invalid(absl::StrCat("field '", field.name(), "' cannot be set from text"));
}

absl::Status ParseYamlInto(std::string_view yaml_text, std::string_view std_source_name,
                           Message* out) {
  absl::string_view source_name(std_source_name.data(), std_source_name.size());
  std::unique_ptr<Message> scratch(out->New());
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root.IsNull()) {  // An empty document sets nothing.
      YamlReader reader(source_name);
      if (absl::Status s = reader.ReadMessage(root, YAML::Mark(), "", scratch.get()); !s.ok()) {
        return s;
      }
    }
  } catch (const YAML::Exception& e) {
    YAML::Mark mark = e.mark.is_null() ? YAML::Mark() : e.mark;
    return Invalid(absl::StrCat(source_name, ":", mark.line + 1, ":", mark.column + 1,
                                ": YAML syntax error: ", e.msg));
  } catch (const std::exception& e) {
    // yaml-cpp documents only YAML::Exception, but a parser must not take the daemon down.
    return Invalid(absl::StrCat(source_name, ": cannot parse YAML: ", e.what()));
  }
  out->GetReflection()->Swap(scratch.get(), out);
  return absl::OkStatus();
}

absl::Status LoadYamlFile(const std::string& path, Message* out) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    int error = errno;
    std::string why = absl::StrCat("cannot open '", path, "': ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(why) : absl::InvalidArgumentError(why);
  }
  std::string text;
  char buf[8192];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0 && text.size() <= kMaxFileBytes) {
    text.append(buf, n);
  }
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': ", std::strerror(error)));
  }
  if (text.size() > kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': larger than ", kMaxFileBytes, " bytes"));
  }
  return ParseYamlInto(text, path, out);
}

std::string MessageToYaml(const Message& msg) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitMessage(msg, out);
  return absl::StrCat(out.c_str(), "\n");
}

}  // namespace anteroom::common
