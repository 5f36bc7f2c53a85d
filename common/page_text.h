#pragma once

// The built-in pages' words in every language Anteroom ships, and the choice of a language
// from a request's Accept-Language header. All of it is constant data: thread-safe.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace anteroom::common {

// One language's strings. They are plain text with no HTML-special characters (& < > " '),
// so renderers may write them into HTML as they are (page_text_test checks this). "{n}" and
// "{time}" mark where a number or a time goes.
struct PageText {
  std::string_view code;  // "en", "de", ...
  std::string_view name;  // The language's own name: "Deutsch".

  // The queue page.
  std::string_view queued_heading;     // "You are in line"
  std::string_view queued_lead;        // Keep the page open; you'll be let in automatically.
  std::string_view position_label;     // "Your position"
  std::string_view eta_label;          // "Estimated wait"
  std::string_view progress_label;     // "Progress"
  std::string_view auto_refresh_note;  // "This page refreshes automatically."
  std::string_view noscript_note;      // Without JavaScript the page reloads itself.

  // Human estimates; see AppendHumanEta.
  std::string_view eta_under_a_minute;  // "less than a minute"
  std::string_view eta_one_minute;      // "about 1 minute"
  std::string_view eta_minutes;         // "about {n} minutes"
  std::string_view eta_one_hour;        // "about 1 hour"
  std::string_view eta_hours;           // "about {n} hours"
  std::string_view eta_unknown;         // "not known yet"

  // Before the event starts.
  std::string_view prequeue_heading;  // "You are early"
  std::string_view prequeue_start;    // "The sale starts on {time}."
  std::string_view prequeue_lead;     // Keep the page open; you'll be let in in turn.

  // A queued user whose turn has come (the page is about to reload).
  std::string_view admitted_heading;  // "It’s your turn"
  std::string_view admitted_lead;     // "Taking you to the site…"
  std::string_view continue_link;     // "Continue"

  // The closed page of a REJECT room.
  std::string_view closed_heading;  // "This page is closed"
  std::string_view closed_lead;     // Not accepting visitors; try again later.
  std::string_view try_again_link;  // "Try again"
};

// Every language we have, English first. The span refers to static storage.
std::span<const PageText> AllPageTexts();

// The strings for `code` ("de"); English when we have no such language.
const PageText& TextFor(std::string_view code);

// Chooses the page language for a request. `accept_language` is the raw header (RFC 9110
// 12.5.4): ranges are tried by q-value, highest first, ties in header order; a range with
// a region or script ("de-CH", "zh-Hant") falls back to its primary language ("de"); "*"
// means `default_language`; "xx;q=0" rules out xx. Malformed ranges and q-values are
// skipped, only the first 4 KiB and 32 ranges are read, and nothing malformed can fail.
// `default_language` is used when nothing in the header matches; when it is not one of
// ours either (after the same region fallback), "en".
// Returns the code of one of AllPageTexts(), in static storage.
std::string_view PickLanguage(std::string_view accept_language, std::string_view default_language);

// Appends an honest, rounded estimate in `text`'s language:
//   negative        -> eta_unknown        ("not known yet")
//   0..59 s         -> eta_under_a_minute ("less than a minute")
//   1..59 minutes   -> about N minutes, N rounded to the nearest minute
//   60 minutes and up -> about N hours, N rounded to the nearest hour
// The built-in page's script repeats these rules; keep them in step.
void AppendHumanEta(int64_t eta_seconds, const PageText& text, std::string* out);
std::string HumanEta(int64_t eta_seconds, const PageText& text);

// Appends `pattern` with every "{name}" replaced by `value` (used for "{n}" and "{time}").
void AppendFilled(std::string_view pattern, std::string_view name, std::string_view value,
                  std::string* out);

}  // namespace anteroom::common
