#include "ctl/room_output.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/room_settings.h"
#include "ctl/table.h"

namespace anteroom::ctl {
namespace {

std::string RouteText(const v1::Route& route) {
  std::string host = route.host().empty() ? "*" : route.host();
  return absl::StrCat(host, route.path_prefix().empty() ? "/" : route.path_prefix());
}

std::string Routes(const v1::Room& room) {
  if (room.routes().empty()) return "-";
  return absl::StrJoin(room.routes(), ", ", [](std::string* out, const v1::Route& route) {
    out->append(RouteText(route));
  });
}

std::string BypassText(const v1::BypassRule& rule) {
  switch (rule.rule_case()) {
    case v1::BypassRule::kPathPrefix:
      return absl::StrCat("path ", rule.path_prefix());
    case v1::BypassRule::kHeader:
      return absl::StrCat("header ", rule.header().name(), "=", rule.header().value());
    case v1::BypassRule::kClientCidr:
      return absl::StrCat("cidr ", rule.client_cidr());
    case v1::BypassRule::kSignedToken:
      return "signed token";
    case v1::BypassRule::RULE_NOT_SET:
      break;
  }
  return "(empty rule)";
}

std::string Bypass(const v1::Room& room) {
  if (room.bypass().empty()) return "-";
  return absl::StrJoin(room.bypass(), ", ", [](std::string* out, const v1::BypassRule& rule) {
    out->append(BypassText(rule));
  });
}

std::string OrDash(const std::string& text) { return text.empty() ? "-" : text; }

std::string Template(const std::string& html) {
  return html.empty() ? "built-in" : absl::StrCat("custom (", html.size(), " bytes)");
}

std::string Mode(const v1::Room& room) {
  if (room.suspended()) return "suspended";
  if (room.queue_all()) return "queue-all";
  return "on";
}

std::string Method(const v1::Room& room) {
  return EnumWord(v1::QueueingMethod_Name(common::Method(room)), "QUEUEING_METHOD_");
}

std::string SameSite(const v1::CookieSettings& cookie) {
  if (cookie.same_site() == v1::SAME_SITE_UNSPECIFIED) return "lax (default)";
  return EnumWord(v1::SameSite_Name(cookie.same_site()), "SAME_SITE_");
}

std::string FailMode(const v1::Room& room) {
  if (room.fail_mode() == v1::FAIL_MODE_UNSPECIFIED) return "closed (default)";
  return EnumWord(v1::FailMode_Name(room.fail_mode()), "FAIL_MODE_");
}

// Who may enter now: FIFO arrivals up to a bucket (and a fraction of that bucket), RANDOM
// refreshes with a probability.
std::string MarkerText(const v1::Marker& marker) {
  if (marker.admit_through_bucket() == 0 && marker.fraction() == 0 && marker.probability() == 0) {
    return "-";
  }
  return absl::StrFormat("arrivals through %s (+%.0f%% of that second), random p=%.3f",
                         FormatUnixSeconds(marker.admit_through_bucket()), marker.fraction() * 100,
                         marker.probability());
}

void AddEventRows(const v1::Event& event, Table* table) {
  const v1::EventOverrides& o = event.overrides();
  auto limit = [](bool has, int64_t value) { return has ? absl::StrCat(value) : "-"; };
  table->AddRow({"event prequeue start:", FormatUnixSeconds(event.prequeue_start_unix())});
  table->AddRow({"event start:", FormatUnixSeconds(event.start_unix())});
  table->AddRow({"event end:", FormatUnixSeconds(event.end_unix())});
  table->AddRow({"event shuffle:", YesNo(event.shuffle_at_event_start())});
  table->AddRow(
      {"event total active users:", limit(o.has_total_active_users(), o.total_active_users())});
  table->AddRow({"event new users per minute:",
                 limit(o.has_new_users_per_minute(), o.new_users_per_minute())});
  table->AddRow({"event session duration:", o.has_session_duration_seconds()
                                                ? FormatSeconds(o.session_duration_seconds())
                                                : "-"});
  table->AddRow({"event page language:", OrDash(o.page().default_language())});
  table->AddRow({"event page title:", OrDash(o.page().title())});
  table->AddRow({"event page template:",
                 o.page().custom_html().empty() ? "-" : Template(o.page().custom_html())});
}

}  // namespace

void PrintRoom(const v1::Room& room, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ToJson(room) << '\n';
    return;
  }
  auto with_default = [](int64_t set, const std::string& shown) {
    return set == 0 ? absl::StrCat(shown, " (default)") : shown;
  };
  Table table;
  table.AddRow({"id:", room.id()});
  table.AddRow({"routes:", Routes(room)});
  table.AddRow({"total active users:", absl::StrCat(room.total_active_users())});
  table.AddRow({"new users per minute:", absl::StrCat(room.new_users_per_minute())});
  table.AddRow({"session duration:", with_default(room.session_duration_seconds(),
                                                  FormatSeconds(common::SessionSeconds(room)))});
  table.AddRow({"session renewal:", YesNo(common::SessionRenewal(room))});
  table.AddRow({"max session duration:", room.max_session_duration_seconds() > 0
                                             ? FormatSeconds(room.max_session_duration_seconds())
                                             : std::string("none")});
  table.AddRow({"queueing method:", Method(room)});
  table.AddRow({"queue all:", YesNo(room.queue_all())});
  table.AddRow({"suspended:", YesNo(room.suspended())});
  table.AddRow({"refresh interval:", with_default(room.refresh_interval_seconds(),
                                                  FormatSeconds(common::RefreshSeconds(room)))});
  table.AddRow({"abandon grace:", with_default(room.abandon_grace_seconds(),
                                               FormatSeconds(common::AbandonGraceSeconds(room)))});
  table.AddRow(
      {"queueing status code:",
       with_default(room.queueing_status_code(), absl::StrCat(common::QueueingStatusCode(room)))});
  table.AddRow({"json response:", YesNo(room.json_response())});
  table.AddRow({"page language:", OrDash(room.page().default_language())});
  table.AddRow({"page title:", OrDash(room.page().title())});
  table.AddRow({"page template:", Template(room.page().custom_html())});
  AddEventRows(room.event(), &table);
  table.AddRow({"bypass:", Bypass(room)});
  table.AddRow({"cookie suffix:", OrDash(room.cookie().name_suffix())});
  table.AddRow({"cookie domain:", OrDash(room.cookie().domain())});
  table.AddRow({"cookie secure:", YesNo(room.cookie().secure())});
  table.AddRow({"cookie samesite:", SameSite(room.cookie())});
  table.AddRow({"pools:", room.pools().empty() ? "-" : absl::StrJoin(room.pools(), ", ")});
  table.AddRow({"fallback pool:", OrDash(room.fallback_pool())});
  table.AddRow({"fail mode:", FailMode(room)});
  table.AddRow({"version:", absl::StrCat(room.version())});
  table.AddRow({"created:", FormatUnixSeconds(room.created_unix())});
  table.AddRow({"updated:", FormatUnixSeconds(room.updated_unix())});
  table.Render(out);
}

void PrintRooms(const std::vector<v1::Room>& rooms, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ToJsonArray(rooms) << '\n';
    return;
  }
  Table table({"ID", "ROUTES", "TOTAL ACTIVE", "NEW/MIN", "METHOD", "MODE", "EVENT START", "POOLS",
               "VERSION"});
  for (const v1::Room& room : rooms) {
    table.AddRow({room.id(), Routes(room), absl::StrCat(room.total_active_users()),
                  absl::StrCat(room.new_users_per_minute()), Method(room), Mode(room),
                  FormatUnixSeconds(room.event().start_unix()),
                  room.pools().empty() ? "-" : absl::StrJoin(room.pools(), ","),
                  absl::StrCat(room.version())});
  }
  table.Render(out);
}

void PrintRoomStatus(const v1::RoomStatus& status, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ToJson(status) << '\n';
    return;
  }
  Table table;
  table.AddRow({"room:", status.id()});
  table.AddRow({"phase:", EnumWord(v1::RoomPhase_Name(status.phase()), "ROOM_PHASE_")});
  table.AddRow({"waiting:", absl::StrCat(status.waiting())});
  table.AddRow({"active:", absl::StrCat(status.active(), " / ", status.total_active_users())});
  table.AddRow({"budget outstanding:", absl::StrCat(status.budget_outstanding())});
  table.AddRow({"admissions/min:", absl::StrCat(status.admissions_last_minute(), " / ",
                                                status.new_users_per_minute())});
  table.AddRow({"eta at back:",
                status.waiting() == 0 ? "-" : FormatSeconds(status.eta_back_of_queue_seconds())});
  table.AddRow({"marker:", MarkerText(status.marker())});
  table.AddRow({"oldest waiting:", FormatUnixSeconds(status.oldest_waiting_bucket())});
  table.AddRow({"invalid tokens:", absl::StrCat(status.invalid_tokens())});
  table.AddRow({"coordinator time:", FormatUnixMillis(status.coordinator_time_ms())});
  table.Render(out);

  out << '\n';
  if (status.agents().empty()) {
    out << "no agents have synced this room\n";
    return;
  }
  // Ages relative to the coordinator's clock, so the operator's clock skew does not matter.
  auto age = [&status](int64_t ms) {
    if (ms == 0) return std::string("-");
    return absl::StrFormat("%.1fs", (status.coordinator_time_ms() - ms) / 1000.0);
  };
  Table agents({"AGENT", "LAST SYNC AGO", "BUDGET OUTSTANDING", "BUDGET WANTED", "LEASE LEFT"});
  for (const v1::AgentView& agent : status.agents()) {
    agents.AddRow(
        {agent.agent_id(), age(agent.last_sync_ms()), absl::StrCat(agent.budget_outstanding()),
         absl::StrCat(agent.budget_wanted()),
         agent.lease_expiry_ms() == 0
             ? "-"
             : absl::StrFormat("%.1fs",
                               (agent.lease_expiry_ms() - status.coordinator_time_ms()) / 1000.0)});
  }
  agents.Render(out);
}

}  // namespace anteroom::ctl
