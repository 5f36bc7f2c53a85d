#pragma once

// The waiting room's JSON answer, for the page's own polling (GET /__anteroom/status) and for
// rooms with json_response when a request sends "Accept: application/json" (apps, SPAs).

#include <string>

#include "common/page_model.h"

namespace anteroom::agent {

using common::PageModel;

// One JSON object on one line, keys always in this order:
//
//   {"status":"queued","position":12,"eta_seconds":95,"refresh_after_seconds":2,
//    "room":"shop","progress":0.25,"prequeue":true,"event_start_unix":1767225600}
//
//   status                 "queued" | "admitted" | "closed"
//   position               1-based place in line, or null when not known
//   eta_seconds            estimated wait in seconds, or null when not known
//   refresh_after_seconds  when to ask again, in seconds (0 = now)
//   room                   the room id
//   progress               0..1 with at most 3 decimals; absent on the closed page
//   prequeue, event_start_unix   only before an event starts
//
// Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD, so the
// output is always valid JSON. Thread-safe.
std::string RenderStatusJson(const PageModel& model);

}  // namespace anteroom::agent
