#include "common/page_template.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/page_text.h"

namespace anteroom::common {
namespace {

// Indexes of kFieldNames; stored in PageTemplate::Piece::field.
enum Field : uint8_t {
  kPosition,
  kEta,
  kEtaSeconds,
  kRoom,
  kTitle,
  kRefreshSeconds,
  kProgressPercent,
  kStatusUrl,
  kLang,
  kStatus,
  kEventStart,
  kEventStartUnix,
  kFieldCount,
};

constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "position",         "eta",        "eta_seconds", "room",   "title",       "refresh_seconds",
    "progress_percent", "status_url", "lang",        "status", "event_start", "event_start_unix",
};

// The last year that four digits can show: keeps the calendar arithmetic in range.
constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31 23:59:59 UTC

absl::Status Error(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// "line L, column C: why", for the character that starts at byte `offset`. The bytes before
// `offset` must be valid UTF-8; continuation bytes do not count as columns.
absl::Status ErrorAt(std::string_view html, size_t offset, std::string_view why) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (html[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(html[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return Error("line " + std::to_string(line) + ", column " + std::to_string(column) + ": " +
               std::string(why));
}

// Offset of the first byte that does not start a well-formed UTF-8 sequence, or npos.
size_t FindInvalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t length = Utf8SequenceLength(s, i);
    if (length == 0) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Edit distance over lower-case letters, for "did you mean"; names are short.
size_t Distance(std::string_view a, std::string_view b) {
  constexpr size_t kMax = 32;
  if (a.size() >= kMax || b.size() >= kMax) return kMax;
  std::array<size_t, kMax> row;
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string UnknownPlaceholder(std::string_view name) {
  std::string message = "unknown placeholder {{" + std::string(name) + "}}";
  std::string_view nearest;
  size_t best = 3;  // Suggest only close names (or names that start with what was typed).
  for (std::string_view known : kFieldNames) {
    size_t d = Distance(name, known);
    if (name.size() >= 3 && known.substr(0, name.size()) == name) d = std::min<size_t>(d, 2);
    if (d < best) {
      best = d;
      nearest = known;
    }
  }
  if (!nearest.empty()) message += " (did you mean {{" + std::string(nearest) + "}}?)";
  message += "; known placeholders:";
  for (std::string_view known : kFieldNames) message += " {{" + std::string(known) + "}}";
  return message;
}

size_t EscapedSize(std::string_view value) {
  size_t size = value.size();
  for (char c : value) {
    switch (c) {
      case '&':
        size += 4;
        break;
      case '<':
      case '>':
        size += 3;
        break;
      case '"':
        size += 5;
        break;
      case '\'':
        size += 4;
        break;
      default:
        break;
    }
  }
  return size;
}

void AppendInt(int64_t value, std::string* out) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out->append(digits, result.ptr);
}

}  // namespace

absl::StatusOr<PageTemplate> PageTemplate::Compile(std::string_view html, TemplateUse use) {
  if (html.size() > kMaxBytes) {
    return Error("template is " + std::to_string(html.size()) + " bytes; the limit is " +
                 std::to_string(kMaxBytes) + " (256 KiB)");
  }
  if (size_t bad = FindInvalidUtf8(html); bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>(html[bad]));
    return ErrorAt(html, bad, std::string("not valid UTF-8 (byte ") + byte + ")");
  }
  if (size_t nul = html.find('\0'); nul != std::string_view::npos) {
    return ErrorAt(html, nul, "NUL character");
  }

  PageTemplate compiled;
  compiled.text_.reserve(html.size());
  size_t piece_start = 0;  // In text_.
  size_t copy_from = 0;    // In html: the first byte not yet copied to text_.
  size_t search_from = 0;
  for (;;) {
    const size_t open = html.find("{{", search_from);
    if (open == std::string_view::npos) break;
    if (open > copy_from && html[open - 1] == '\\') {
      compiled.text_.append(html.substr(copy_from, open - 1 - copy_from));
      compiled.text_.append("{{");
      copy_from = search_from = open + 2;
      continue;
    }
    if (open + 2 < html.size() && html[open + 2] == '{') {
      return ErrorAt(html, open,
                     "nested braces \"{{{\": values are always HTML-escaped, so there is no "
                     "{{{raw}}} form");
    }
    const size_t close = html.find("}}", open + 2);
    const size_t line_end = html.find('\n', open + 2);
    if (close == std::string_view::npos ||
        (line_end != std::string_view::npos && close > line_end)) {
      return ErrorAt(html, open,
                     "\"{{\" is not closed by \"}}\" on the same line (write \\{{ for a literal "
                     "\"{{\")");
    }
    const std::string_view inside = html.substr(open + 2, close - open - 2);
    if (size_t brace = inside.find('{'); brace != std::string_view::npos) {
      return ErrorAt(html, open + 2 + brace, "nested braces: \"{\" inside a placeholder");
    }
    const std::string_view name = TrimBlanks(inside);
    if (name.empty()) return ErrorAt(html, open, "empty placeholder {{}}");
    if (!std::all_of(name.begin(), name.end(), IsNameChar)) {
      return ErrorAt(html, open,
                     "{{" + std::string(name) +
                         "}} is not a placeholder: names are letters, digits and \"_\"");
    }
    const auto known = std::find(kFieldNames.begin(), kFieldNames.end(), name);
    if (known == kFieldNames.end()) return ErrorAt(html, open, UnknownPlaceholder(name));

    compiled.text_.append(html.substr(copy_from, open - copy_from));
    compiled.pieces_.push_back(Piece{static_cast<uint32_t>(piece_start),
                                     static_cast<uint32_t>(compiled.text_.size() - piece_start),
                                     static_cast<uint8_t>(known - kFieldNames.begin())});
    piece_start = compiled.text_.size();
    copy_from = search_from = close + 2;
  }
  compiled.text_.append(html.substr(copy_from));
  if (compiled.text_.size() > piece_start || compiled.pieces_.empty()) {
    compiled.pieces_.push_back(Piece{static_cast<uint32_t>(piece_start),
                                     static_cast<uint32_t>(compiled.text_.size() - piece_start),
                                     kNoField});
  }

  if (use == TemplateUse::kQueuePage && !compiled.Uses("position") && !compiled.Uses("eta") &&
      !compiled.Uses("eta_seconds")) {
    return Error(
        "a waiting page must show users where they stand: use {{position}}, {{eta}} or "
        "{{eta_seconds}}");
  }
  return compiled;
}

bool PageTemplate::Uses(std::string_view name) const {
  const auto known = std::find(kFieldNames.begin(), kFieldNames.end(), name);
  if (known == kFieldNames.end()) return false;
  const auto field = static_cast<uint8_t>(known - kFieldNames.begin());
  return std::any_of(pieces_.begin(), pieces_.end(),
                     [field](const Piece& piece) { return piece.field == field; });
}

std::string PageTemplate::Render(const PageModel& model, std::string_view lang) const {
  return Render(model, lang, model.title.empty() ? model.room_id : model.title);
}

std::string PageTemplate::Render(const PageModel& model, std::string_view lang,
                                 std::string_view title) const {
  const PageText& text = TextFor(lang);

  // Size the output once: literals, escaped strings, and a generous bound for the rest.
  size_t size = text_.size();
  for (const Piece& piece : pieces_) {
    switch (piece.field) {
      case kRoom:
        size += EscapedSize(model.room_id);
        break;
      case kTitle:
        size += EscapedSize(title);
        break;
      case kStatusUrl:
        size += EscapedSize(model.status_url);
        break;
      case kStatus:
        size += EscapedSize(model.status);
        break;
      case kNoField:
        break;
      default:
        size += 64;  // Numbers, the ETA in words, a date.
        break;
    }
  }
  std::string out;
  out.reserve(size);

  for (const Piece& piece : pieces_) {
    out.append(text_, piece.offset, piece.size);
    switch (piece.field) {
      case kPosition:
        AppendPosition(model.position, &out);
        break;
      case kEta:
        AppendHumanEta(model.eta_seconds, text, &out);  // Page texts need no escaping.
        break;
      case kEtaSeconds:
        AppendInt(model.eta_seconds < 0 ? -1 : model.eta_seconds, &out);
        break;
      case kRoom:
        AppendHtmlEscaped(model.room_id, &out);
        break;
      case kTitle:
        AppendHtmlEscaped(title, &out);
        break;
      case kRefreshSeconds:
        AppendInt(RefreshSeconds(model), &out);
        break;
      case kProgressPercent:
        AppendInt(ProgressPercent(model), &out);
        break;
      case kStatusUrl:
        AppendHtmlEscaped(model.status_url, &out);
        break;
      case kLang:
        out.append(text.code);
        break;
      case kStatus:
        AppendHtmlEscaped(model.status, &out);
        break;
      case kEventStart:
        if (model.event_start_unix > 0) AppendReadableUtc(model.event_start_unix, &out);
        break;
      case kEventStartUnix:
        AppendInt(std::max<int64_t>(model.event_start_unix, 0), &out);
        break;
      default:
        break;
    }
  }
  return out;
}

void AppendHtmlEscaped(std::string_view value, std::string* out) {
  size_t run = 0;  // Start of the current run of characters that need no escaping.
  for (size_t i = 0; i < value.size(); ++i) {
    std::string_view reference;
    switch (value[i]) {
      case '&':
        reference = "&amp;";
        break;
      case '<':
        reference = "&lt;";
        break;
      case '>':
        reference = "&gt;";
        break;
      case '"':
        reference = "&quot;";
        break;
      case '\'':
        reference = "&#39;";
        break;
      default:
        continue;
    }
    out->append(value.substr(run, i - run));
    out->append(reference);
    run = i + 1;
  }
  out->append(value.substr(run));
}

void AppendPosition(int64_t position, std::string* out) {
  if (position > 0) {
    AppendInt(position, out);
  } else {
    out->append("—");
  }
}

int ProgressPercent(const PageModel& model) {
  const double progress = model.progress;
  if (!(progress > 0)) return 0;  // Also NaN.
  int percent = progress >= 1 ? 100 : static_cast<int>(std::lround(progress * 100));
  // A full bar tells a user they are in; while they still wait it stops one short.
  if (model.status == "queued") percent = std::min(percent, 99);
  return percent;
}

int64_t RefreshSeconds(const PageModel& model) {
  return std::max<int64_t>(model.refresh_after_seconds, 1);
}

namespace {

struct UtcParts {
  int year;
  unsigned month, day, hour, minute, second;
};

UtcParts ToUtc(int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_seconds t{seconds{std::clamp<int64_t>(unix_seconds, 0, kMaxUnixSeconds)}};
  const sys_days day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  return {static_cast<int>(date.year()),
          static_cast<unsigned>(date.month()),
          static_cast<unsigned>(date.day()),
          static_cast<unsigned>(time.hours().count()),
          static_cast<unsigned>(time.minutes().count()),
          static_cast<unsigned>(time.seconds().count())};
}

}  // namespace

void AppendReadableUtc(int64_t unix_seconds, std::string* out) {
  const UtcParts t = ToUtc(unix_seconds);
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02u %02u:%02u UTC", t.year,
                              t.month, t.day, t.hour, t.minute);
  out->append(buffer, static_cast<size_t>(n));
}

void AppendIsoUtc(int64_t unix_seconds, std::string* out) {
  const UtcParts t = ToUtc(unix_seconds);
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02u:%02u:%02uZ", t.year,
                              t.month, t.day, t.hour, t.minute, t.second);
  out->append(buffer, static_cast<size_t>(n));
}

// Length of the well-formed UTF-8 sequence starting at s[i] (no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const unsigned char c = s[i];
  size_t length;
  uint32_t code_point;
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
    code_point = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    code_point = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    code_point = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < length) return 0;
  for (size_t k = 1; k < length; ++k) {
    const unsigned char next = s[i + k];
    if ((next & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) {
    return 0;
  }
  if (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF)) return 0;
  return length;
}

}  // namespace anteroom::common
