#include "agent/status_json.h"

#include "common/page_template.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace anteroom::agent {
namespace {

void AppendJsonString(std::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < value.size()) {
    const unsigned char c = value[i];
    if (c >= 0x80) {
      const size_t length = common::Utf8SequenceLength(value, i);
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(value.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

void AppendInt(int64_t value, std::string* out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, result.ptr);
}

// 0..1 in thousandths, without trailing zeros: "0", "0.25", "0.333", "1".
void AppendProgress(double progress, std::string* out) {
  long thousandths = 0;
  if (progress > 0) thousandths = progress >= 1 ? 1000 : std::lround(progress * 1000);
  if (thousandths == 0 || thousandths == 1000) {
    out->push_back(thousandths == 0 ? '0' : '1');
    return;
  }
  char digits[5] = {'0', '.', static_cast<char>('0' + thousandths / 100),
                    static_cast<char>('0' + thousandths / 10 % 10),
                    static_cast<char>('0' + thousandths % 10)};
  size_t length = sizeof(digits);
  while (digits[length - 1] == '0') --length;
  out->append(digits, length);
}

}  // namespace

std::string RenderStatusJson(const PageModel& model) {
  std::string out;
  out.reserve(160 + model.room_id.size() + model.status.size());
  out.append("{\"status\":");
  AppendJsonString(model.status, &out);
  out.append(",\"position\":");
  if (model.position > 0) {
    AppendInt(model.position, &out);
  } else {
    out.append("null");
  }
  out.append(",\"eta_seconds\":");
  if (model.eta_seconds >= 0) {
    AppendInt(model.eta_seconds, &out);
  } else {
    out.append("null");
  }
  out.append(",\"refresh_after_seconds\":");
  AppendInt(model.refresh_after_seconds > 0 ? model.refresh_after_seconds : 0, &out);
  out.append(",\"room\":");
  AppendJsonString(model.room_id, &out);
  if (model.status != "closed") {
    out.append(",\"progress\":");
    AppendProgress(model.progress, &out);
  }
  if (model.prequeue) {
    out.append(",\"prequeue\":true,\"event_start_unix\":");
    AppendInt(model.event_start_unix > 0 ? model.event_start_unix : 0, &out);
  }
  out.push_back('}');
  return out;
}

}  // namespace anteroom::agent
