#pragma once

// A room's waiting pages: the queue page and the closed page, as HTML. Either the built-in
// design (in the language the browser asks for) or the operator's own template.
//
// The built-in queue page works without JavaScript (it reloads itself every
// refresh_after_seconds); with JavaScript it polls PageModel::status_url instead, updates the
// position, estimate and progress in place, and reloads once the user's turn has come so that
// the request goes through to the site. It loads nothing from elsewhere.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "anteroom/v1/room.pb.h"
#include "common/page_model.h"
#include "common/page_template.h"
#include "common/page_text.h"

namespace anteroom::agent {

// Pages and templates live in common/: the coordinator compiles operators' templates too.
using common::AllPageTexts;
using common::AppendFilled;
using common::AppendHtmlEscaped;
using common::AppendHumanEta;
using common::AppendIsoUtc;
using common::AppendPosition;
using common::AppendReadableUtc;
using common::HumanEta;
using common::PageModel;
using common::PageTemplate;
using common::PageText;
using common::PickLanguage;
using common::ProgressPercent;
using common::TemplateUse;
using common::TextFor;

// Immutable once built: thread-safe. Copyable.
class WaitingPages {
 public:
  // The built-in pages with no room settings (English unless the browser asks otherwise).
  WaitingPages() = default;

  // Compiles room.page.custom_html and room.event.overrides.page.custom_html when set.
  // For a REJECT room a custom template is the closed page and needs no placeholder;
  // otherwise it is the queue page (see PageTemplate::Compile). Errors are PageTemplate's,
  // prefixed with the field: "room.page.custom_html: line 3, column 7: ...".
  // The event's page settings, field by field, replace the room's while
  // PageModel::event_active is set.
  static absl::StatusOr<WaitingPages> ForRoom(const v1::Room& room);

  // The page for a waiting user (status "queued"; "admitted" gives a short "your turn" page
  // that reloads at once). Built-in or custom, in the language PickLanguage chooses from
  // `accept_language` and the page's default_language.
  std::string RenderQueued(const PageModel& model, std::string_view accept_language) const;

  // The "this page is closed" page of a REJECT room: the custom template for a REJECT room
  // that has one, the built-in closed page otherwise.
  std::string RenderClosed(const PageModel& model, std::string_view accept_language) const;

 private:
  // One set of page settings: the room's, or the room's with the event's applied.
  struct Settings {
    std::string title;             // As configured; see Title().
    std::string default_language;  // Empty: "en".
    std::optional<PageTemplate> custom;
  };

  const Settings& SettingsFor(const PageModel& model) const;
  // The event's own title while it runs, else PageModel::title, the room's, the room id.
  std::string_view Title(const PageModel& model) const;

  Settings room_;
  Settings event_;
  bool event_page_ = false;  // The event overrides at least one page setting.
  bool custom_is_closed_page_ = false;
};

}  // namespace anteroom::agent
