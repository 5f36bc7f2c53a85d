#pragma once

// An operator's own waiting page: HTML with placeholders, checked once when the room's
// configuration arrives and rendered for every queued request.
//
// Template grammar (whitespace inside the braces is allowed: "{{ position }}"):
//
//   template    := ( text | placeholder | escaped )*
//   placeholder := "{{" name "}}"          ; on one line; name from the table below
//   escaped     := "\{{"                    ; a literal "{{"
//
// A lone "}}" is plain text, so CSS and scripts with nested braces need no escaping.
//
//   {{position}}          1-based place in line; "—" when not known yet
//   {{eta}}               the estimate in words in the page language ("about 3 minutes")
//   {{eta_seconds}}       the estimate in whole seconds; -1 when not known
//   {{room}}              the room id
//   {{title}}             the page title (the room id when the model has none)
//   {{refresh_seconds}}   seconds until the page should poll or reload (at least 1)
//   {{progress_percent}}  0..100, share of the wait already behind the user
//   {{status_url}}        the JSON status endpoint the page may poll
//   {{lang}}              the page language code ("de")
//   {{status}}            "queued", "admitted" or "closed"
//   {{event_start}}       the event start as "2025-06-01 10:00 UTC"; empty without an event
//   {{event_start_unix}}  the event start in Unix seconds; 0 without an event
//
// Every value is HTML-escaped (& < > " '), so it is safe in text and in quoted attributes.
// There is no unescaped form: "{{{" is an error.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/page_model.h"

namespace anteroom::common {

// What a template is for, which decides what it must contain.
enum class TemplateUse {
  // A queue page must show the user where they stand: {{position}}, {{eta}} or
  // {{eta_seconds}} (a page that shows none of them is a broken page).
  kQueuePage,
  // The closed page of a REJECT room: no placeholder is required.
  kClosedPage,
};

// A compiled template. Immutable after Compile: Render is thread-safe. Copyable.
class PageTemplate {
 public:
  // The largest template accepted, as in room validation.
  static constexpr size_t kMaxBytes = 256 * 1024;

  // Checks `html` and compiles it. Errors are InvalidArgument; those about a place in the
  // template start with "line L, column C: " (1-based; columns count characters, not bytes):
  //   - larger than kMaxBytes
  //   - not valid UTF-8, or contains a NUL character
  //   - "{{" not closed by "}}" on the same line
  //   - empty placeholder "{{}}"
  //   - nested braces: "{{{", or "{" inside a placeholder
  //   - a name that is not a placeholder name, or an unknown placeholder (the message lists
  //     the known ones and suggests the nearest)
  //   - for kQueuePage, none of {{position}}, {{eta}}, {{eta_seconds}}
  static absl::StatusOr<PageTemplate> Compile(std::string_view html,
                                              TemplateUse use = TemplateUse::kQueuePage);

  // The page for `model` in language `lang` (a code from AllPageTexts(); others render in
  // English). Allocates only the returned string, sized up front.
  std::string Render(const PageModel& model, std::string_view lang) const;
  // As above with {{title}} = `title` instead of the model's.
  std::string Render(const PageModel& model, std::string_view lang, std::string_view title) const;

  // Whether the template uses placeholder `name` ("position", no braces) at least once.
  bool Uses(std::string_view name) const;

 private:
  // Literal text_[offset, offset + size) followed by the value of placeholder `field`
  // (an index into page_template.cc's table; kNoField after the last literal).
  struct Piece {
    uint32_t offset = 0;
    uint32_t size = 0;
    uint8_t field = 0;
  };
  static constexpr uint8_t kNoField = 0xff;

  PageTemplate() = default;

  std::string text_;  // The literal parts, concatenated, with "\{{" already unescaped.
  std::vector<Piece> pieces_;
};

// Appends `value` to `out` with & < > " ' replaced by character references.
void AppendHtmlEscaped(std::string_view value, std::string* out);

// Appends the values shared by custom templates and the built-in page.
void AppendPosition(int64_t position, std::string* out);  // Digits, or "—" when unknown.
int ProgressPercent(const PageModel& model);              // 0..100; below 100 while queued.
int64_t RefreshSeconds(const PageModel& model);           // At least 1.

// "2025-06-01 10:00 UTC" and "2025-06-01T10:00:00Z" (for <time datetime>).
void AppendReadableUtc(int64_t unix_seconds, std::string* out);
void AppendIsoUtc(int64_t unix_seconds, std::string* out);

// Length of the well-formed UTF-8 sequence starting at the non-ASCII byte s[i] (no overlongs,
// no surrogates, nothing above U+10FFFF), or 0 when there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace anteroom::common
