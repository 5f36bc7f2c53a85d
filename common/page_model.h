#pragma once

// What a waiting page shows to one user. The admission logic fills it in; the page renderers
// (PageTemplate, WaitingPages, RenderStatusJson) only format it, so they never decide anything.

#include <cstdint>
#include <string>

namespace anteroom::common {

struct PageModel {
  std::string room_id;
  // room.page.title (or the event's) or the room id. Empty: WaitingPages fills it in.
  std::string title;
  std::string status = "queued";       // "queued" | "admitted" | "closed"
  int64_t position = 0;                // 1-based place in line; 0 = unknown.
  int64_t eta_seconds = 0;             // Estimated wait; negative = unknown (nobody is admitted).
  int64_t refresh_after_seconds = 20;  // When the page should poll again; at least 1.
  double progress = 0;                 // 0..1, share of the wait already behind the user.
  bool prequeue = false;               // Before the event starts: nobody is admitted yet.
  int64_t event_start_unix = 0;        // When the event starts; shown on the prequeue page.
  // The event's overrides apply, so its page settings (when set) replace the room's.
  bool event_active = false;
  std::string status_url = "/__anteroom/status";  // JSON endpoint the page polls.
};

}  // namespace anteroom::common
