#include "ctl/room_flags.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/room_validation.h"
#include "common/yaml_proto.h"
#include "ctl/field_flags.h"
#include "ctl/value_parsers.h"

namespace anteroom::ctl {
namespace {

// Sets one field from one flag value. Captureless, so a table can hold it.
using Setter = absl::Status (*)(absl::string_view flag, const std::string& value, v1::Room* room);

struct RoomFlag {
  FlagSpec spec;
  Setter set;  // Null for the list flags, which ApplyRoomFlags handles as a whole.
};

template <typename T, typename F>
absl::Status Assign(absl::StatusOr<T> parsed, F assign) {
  if (!parsed.ok()) return parsed.status();
  assign(*std::move(parsed));
  return absl::OkStatus();
}

const std::vector<EnumChoice<v1::QueueingMethod>>& QueueingMethods() {
  static const auto* kChoices = new std::vector<EnumChoice<v1::QueueingMethod>>{
      {"fifo", v1::QUEUEING_METHOD_FIFO},
      {"random", v1::QUEUEING_METHOD_RANDOM},
      {"passthrough", v1::QUEUEING_METHOD_PASSTHROUGH},
      {"reject", v1::QUEUEING_METHOD_REJECT},
  };
  return *kChoices;
}

const std::vector<EnumChoice<v1::SameSite>>& SameSites() {
  static const auto* kChoices = new std::vector<EnumChoice<v1::SameSite>>{
      {"lax", v1::SAME_SITE_LAX}, {"strict", v1::SAME_SITE_STRICT}, {"none", v1::SAME_SITE_NONE}};
  return *kChoices;
}

const std::vector<EnumChoice<v1::FailMode>>& FailModes() {
  static const auto* kChoices = new std::vector<EnumChoice<v1::FailMode>>{
      {"open", v1::FAIL_MODE_OPEN}, {"closed", v1::FAIL_MODE_CLOSED}};
  return *kChoices;
}

absl::StatusOr<int32_t> ParseStatusCode(absl::string_view flag, absl::string_view text) {
  return ParseEnum<int32_t>(flag, text, {{"200", 200}, {"202", 202}, {"429", 429}, {"503", 503}});
}

// "" (empty file name) clears the template.
absl::StatusOr<std::string> ReadTemplate(absl::string_view flag, const std::string& path) {
  if (path.empty()) return std::string();
  return ReadFileFlag(flag, path);
}

// "HOST/PATH", "HOST" or "/PATH"; no scheme.
absl::StatusOr<v1::Route> ParseRoute(absl::string_view flag, absl::string_view text) {
  if (absl::StrContains(text, "://")) {
    return FlagError(flag, absl::StrCat("expected HOST/PATH without a scheme, got '", text, "'"));
  }
  v1::Route route;
  size_t slash = text.find('/');
  route.set_host(std::string(text.substr(0, slash)));
  if (slash != absl::string_view::npos) route.set_path_prefix(std::string(text.substr(slash)));
  return route;
}

// Single-valued flags, in the order of the Room message.
const std::vector<RoomFlag>& RoomFlags() {
  using R = v1::Room;
  using S = const std::string&;
  static const auto* kFlags = new std::vector<RoomFlag>{
      {{"from-file"}, nullptr},
      {{"host"}, nullptr},
      {{"path"}, nullptr},
      {{"route", FlagKind::kValue, true}, nullptr},
      {{"total-active-users"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParsePositiveInt(f, v), [r](int64_t x) { r->set_total_active_users(x); });
       }},
      {{"new-users-per-minute"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParsePositiveInt(f, v), [r](int64_t x) { r->set_new_users_per_minute(x); });
       }},
      {{"session-duration"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseSeconds(f, v), [r](int64_t x) { r->set_session_duration_seconds(x); });
       }},
      {{"max-session-duration"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseSeconds(f, v),
                       [r](int64_t x) { r->set_max_session_duration_seconds(x); });
       }},
      {{"abandon-grace"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseSeconds(f, v), [r](int64_t x) { r->set_abandon_grace_seconds(x); });
       }},
      {{"session-renewal", FlagKind::kBool},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseBool(f, v), [r](bool x) { r->set_session_renewal(x); });
       }},
      {{"queueing-method"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseEnum(f, v, QueueingMethods()),
                       [r](v1::QueueingMethod x) { r->set_queueing_method(x); });
       }},
      {{"queue-all", FlagKind::kBool},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseBool(f, v), [r](bool x) { r->set_queue_all(x); });
       }},
      {{"suspended", FlagKind::kBool},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseBool(f, v), [r](bool x) { r->set_suspended(x); });
       }},
      {{"refresh-interval"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseSeconds(f, v), [r](int64_t x) { r->set_refresh_interval_seconds(x); });
       }},
      {{"queueing-status-code"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseStatusCode(f, v), [r](int32_t x) { r->set_queueing_status_code(x); });
       }},
      {{"json-response", FlagKind::kBool},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseBool(f, v), [r](bool x) { r->set_json_response(x); });
       }},
      {{"page-language"},
       [](absl::string_view, S v, R* r) {
         r->mutable_page()->set_default_language(v);
         return absl::OkStatus();
       }},
      {{"page-title"},
       [](absl::string_view, S v, R* r) {
         r->mutable_page()->set_title(v);
         return absl::OkStatus();
       }},
      {{"page-template-file"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ReadTemplate(f, v),
                       [r](std::string x) { r->mutable_page()->set_custom_html(std::move(x)); });
       }},
      {{"event-prequeue-start"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseUnixTime(f, v),
                       [r](int64_t x) { r->mutable_event()->set_prequeue_start_unix(x); });
       }},
      {{"event-start"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseUnixTime(f, v),
                       [r](int64_t x) { r->mutable_event()->set_start_unix(x); });
       }},
      {{"event-end"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseUnixTime(f, v),
                       [r](int64_t x) { r->mutable_event()->set_end_unix(x); });
       }},
      {{"event-shuffle", FlagKind::kBool},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseBool(f, v),
                       [r](bool x) { r->mutable_event()->set_shuffle_at_event_start(x); });
       }},
      {{"event-total-active-users"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseNonNegativeInt(f, v), [r](int64_t x) {
           auto* o = r->mutable_event()->mutable_overrides();
           x == 0 ? o->clear_total_active_users() : o->set_total_active_users(x);
         });
       }},
      {{"event-new-users-per-minute"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseNonNegativeInt(f, v), [r](int64_t x) {
           auto* o = r->mutable_event()->mutable_overrides();
           x == 0 ? o->clear_new_users_per_minute() : o->set_new_users_per_minute(x);
         });
       }},
      {{"event-session-duration"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseSeconds(f, v), [r](int64_t x) {
           auto* o = r->mutable_event()->mutable_overrides();
           x == 0 ? o->clear_session_duration_seconds() : o->set_session_duration_seconds(x);
         });
       }},
      {{"event-page-language"},
       [](absl::string_view, S v, R* r) {
         r->mutable_event()->mutable_overrides()->mutable_page()->set_default_language(v);
         return absl::OkStatus();
       }},
      {{"event-page-title"},
       [](absl::string_view, S v, R* r) {
         r->mutable_event()->mutable_overrides()->mutable_page()->set_title(v);
         return absl::OkStatus();
       }},
      {{"event-page-template-file"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ReadTemplate(f, v), [r](std::string x) {
           r->mutable_event()->mutable_overrides()->mutable_page()->set_custom_html(std::move(x));
         });
       }},
      {{"bypass-path", FlagKind::kValue, true}, nullptr},
      {{"bypass-header", FlagKind::kValue, true}, nullptr},
      {{"bypass-cidr", FlagKind::kValue, true}, nullptr},
      {{"bypass-signed-token", FlagKind::kBool}, nullptr},
      {{"cookie-suffix"},
       [](absl::string_view, S v, R* r) {
         r->mutable_cookie()->set_name_suffix(v);
         return absl::OkStatus();
       }},
      {{"cookie-domain"},
       [](absl::string_view, S v, R* r) {
         r->mutable_cookie()->set_domain(v);
         return absl::OkStatus();
       }},
      {{"cookie-secure", FlagKind::kBool},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseBool(f, v), [r](bool x) { r->mutable_cookie()->set_secure(x); });
       }},
      {{"cookie-samesite"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseEnum(f, v, SameSites()),
                       [r](v1::SameSite x) { r->mutable_cookie()->set_same_site(x); });
       }},
      {{"pool", FlagKind::kValue, true}, nullptr},
      {{"fallback-pool"},
       [](absl::string_view, S v, R* r) {
         r->set_fallback_pool(v);
         return absl::OkStatus();
       }},
      {{"fail-mode"},
       [](absl::string_view f, S v, R* r) {
         return Assign(ParseEnum(f, v, FailModes()), [r](v1::FailMode x) { r->set_fail_mode(x); });
       }},
  };
  return *kFlags;
}

// Replaces every setting with the YAML file's, keeping what identifies the stored room.
absl::Status ApplyFromFile(const ParsedArgs& args, v1::Room* room) {
  if (!args.Has("from-file")) return absl::OkStatus();
  v1::Room loaded;
  if (absl::Status s = common::LoadYamlFile(*args.Get("from-file"), &loaded); !s.ok()) {
    return FlagError("from-file", s.message());
  }
  if (!loaded.id().empty() && loaded.id() != room->id()) {
    return FlagError("from-file", absl::StrCat("the file is for room '", loaded.id(), "', not '",
                                               room->id(), "'"));
  }
  loaded.set_id(room->id());
  loaded.set_version(room->version());
  loaded.set_created_unix(room->created_unix());
  loaded.set_updated_unix(room->updated_unix());
  *room = std::move(loaded);
  return absl::OkStatus();
}

absl::Status ApplyRoutes(const ParsedArgs& args, v1::Room* room) {
  if (!args.Has("host") && !args.Has("path") && !args.Has("route")) return absl::OkStatus();
  room->clear_routes();
  if (args.Has("host") || args.Has("path")) {
    v1::Route* route = room->add_routes();
    route->set_host(args.Get("host").value_or(""));
    route->set_path_prefix(args.Get("path").value_or(""));
  }
  for (const std::string& text : args.GetAll("route")) {
    if (text.empty()) continue;
    absl::StatusOr<v1::Route> route = ParseRoute("route", text);
    if (!route.ok()) return route.status();
    *room->add_routes() = *std::move(route);
  }
  return absl::OkStatus();
}

// Drops the rules of one kind and appends `rules` in their place.
void ReplaceBypassKind(v1::BypassRule::RuleCase kind, const std::vector<v1::BypassRule>& rules,
                       v1::Room* room) {
  auto* bypass = room->mutable_bypass();
  for (int i = bypass->size() - 1; i >= 0; --i) {
    if (bypass->Get(i).rule_case() == kind) bypass->DeleteSubrange(i, 1);
  }
  for (const v1::BypassRule& rule : rules) *bypass->Add() = rule;
}

absl::Status ApplyBypass(const ParsedArgs& args, v1::Room* room) {
  if (args.Has("bypass-path")) {
    std::vector<v1::BypassRule> rules;
    for (const std::string& path : args.GetAll("bypass-path")) {
      if (!path.empty()) rules.emplace_back().set_path_prefix(path);
    }
    ReplaceBypassKind(v1::BypassRule::kPathPrefix, rules, room);
  }
  if (args.Has("bypass-header")) {
    std::vector<v1::BypassRule> rules;
    for (const std::string& text : args.GetAll("bypass-header")) {
      if (text.empty()) continue;
      auto header = ParseKeyValue("bypass-header", text);
      if (!header.ok()) return header.status();
      v1::HeaderMatch* match = rules.emplace_back().mutable_header();
      match->set_name(header->first);
      match->set_value(header->second);
    }
    ReplaceBypassKind(v1::BypassRule::kHeader, rules, room);
  }
  if (args.Has("bypass-cidr")) {
    std::vector<v1::BypassRule> rules;
    for (const std::string& cidr : args.GetAll("bypass-cidr")) {
      if (!cidr.empty()) rules.emplace_back().set_client_cidr(cidr);
    }
    ReplaceBypassKind(v1::BypassRule::kClientCidr, rules, room);
  }
  if (args.Has("bypass-signed-token")) {
    absl::StatusOr<bool> on = ParseBool("bypass-signed-token", *args.Get("bypass-signed-token"));
    if (!on.ok()) return on.status();
    std::vector<v1::BypassRule> rules;
    if (*on) rules.emplace_back().set_signed_token(true);
    ReplaceBypassKind(v1::BypassRule::kSignedToken, rules, room);
  }
  return absl::OkStatus();
}

void ApplyPools(const ParsedArgs& args, v1::Room* room) {
  if (!args.Has("pool")) return;
  room->clear_pools();
  for (const std::string& pool : args.GetAll("pool")) {
    if (!pool.empty()) room->add_pools(pool);
  }
}

}  // namespace

const std::vector<FlagSpec>& RoomFlagSpecs() {
  static const auto* kSpecs = [] {
    auto* specs = new std::vector<FlagSpec>;
    for (const RoomFlag& flag : RoomFlags()) specs->push_back(flag.spec);
    return specs;
  }();
  return *kSpecs;
}

absl::Status ApplyRoomFlags(const ParsedArgs& args, v1::Room* room) {
  if (absl::Status s = ApplyFromFile(args, room); !s.ok()) return s;
  for (const RoomFlag& flag : RoomFlags()) {
    if (flag.set == nullptr || !args.Has(flag.spec.name)) continue;
    if (absl::Status s = flag.set(flag.spec.name, *args.Get(flag.spec.name), room); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ApplyRoutes(args, room); !s.ok()) return s;
  if (absl::Status s = ApplyBypass(args, room); !s.ok()) return s;
  ApplyPools(args, room);
  return absl::OkStatus();
}

absl::Status ValidateRoomFromFlags(const v1::Room& room, const ParsedArgs& args) {
  return RoomErrorToFlag(common::ValidateRoom(room), args);
}

absl::Status RoomErrorToFlag(const absl::Status& status, const ParsedArgs& args) {
  if (!absl::IsInvalidArgument(status)) return status;
  static const auto* kTable = new std::vector<FieldFlags>{
      {"room.routes", "", {"route", "host", "path"}},
      {"room.total_active_users", "", {"total-active-users"}},
      {"room.new_users_per_minute", "", {"new-users-per-minute"}},
      {"room.session_duration_seconds", "", {"session-duration"}},
      {"room.max_session_duration_seconds", "", {"max-session-duration", "session-duration"}},
      {"room.abandon_grace_seconds", "", {"abandon-grace", "refresh-interval"}},
      {"room.queueing_method", "", {"queueing-method"}},
      {"room.refresh_interval_seconds", "", {"refresh-interval"}},
      {"room.queueing_status_code", "", {"queueing-status-code"}},
      {"room.page.custom_html", "", {"page-template-file"}},
      {"room.page.default_language", "", {"page-language"}},
      {"room.page.title", "", {"page-title"}},
      {"room.event.prequeue_start_unix", "", {"event-prequeue-start", "event-start"}},
      {"room.event.start_unix", "", {"event-start"}},
      {"room.event.end_unix", "", {"event-end", "event-start"}},
      {"room.event.overrides.total_active_users", "", {"event-total-active-users"}},
      {"room.event.overrides.new_users_per_minute", "", {"event-new-users-per-minute"}},
      {"room.event.overrides.session_duration_seconds", "", {"event-session-duration"}},
      {"room.event.overrides.page.title", "", {"event-page-title"}},
      {"room.event.overrides.page.default_language", "", {"event-page-language"}},
      {"room.event.overrides.page", "", {"event-page-template-file"}},
      {"room.bypass", ".path_prefix", {"bypass-path"}},
      {"room.bypass", ".header", {"bypass-header"}},
      {"room.bypass", ".client_cidr", {"bypass-cidr"}},
      {"room.cookie.name_suffix", "", {"cookie-suffix"}},
      {"room.cookie.domain", "", {"cookie-domain"}},
      {"room.cookie.same_site", "", {"cookie-samesite", "cookie-secure"}},
      {"room.pools", "", {"pool"}},
      {"room.fallback_pool", "", {"fallback-pool"}},
      {"room.fail_mode", "", {"fail-mode"}},
      {"room", "", {"from-file"}},
  };
  return AttributeToFlag(status, args, *kTable);
}

}  // namespace anteroom::ctl
