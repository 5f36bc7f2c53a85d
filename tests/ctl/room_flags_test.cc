#include "ctl/room_flags.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace anteroom::ctl {
namespace {

using ::testing::HasSubstr;

v1::Room FromText(const std::string& text) {
  v1::Room room;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &room)) << text;
  return room;
}

// Parses `args` as room flags and applies them to `room`.
absl::Status Apply(const std::vector<std::string>& args, v1::Room* room) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, RoomFlagSpecs());
  if (!parsed.ok()) return parsed.status();
  return ApplyRoomFlags(*parsed, room);
}

std::string WriteTempFile(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

struct FieldCase {
  std::vector<std::string> args;
  std::string expected;  // The resulting Room in text format, applied to an empty Room.
};

TEST(RoomFlagsTest, EveryFlagSetsItsField) {
  std::string page = WriteTempFile("room_flags_page.html", "<p>{{position}}</p>");
  std::string event_page = WriteTempFile("room_flags_event.html", "<p>sale</p>");
  std::vector<FieldCase> cases = {
      {{"--host=shop.example.com", "--path=/checkout"},
       R"pb(routes { host: "shop.example.com" path_prefix: "/checkout" })pb"},
      {{"--host", "shop.example.com"}, R"pb(routes { host: "shop.example.com" })pb"},
      {{"--path=/api"}, R"pb(routes { path_prefix: "/api" })pb"},
      {{"--route=shop.example.com/checkout", "--route", "/"},
       R"pb(routes { host: "shop.example.com" path_prefix: "/checkout" }
            routes { path_prefix: "/" })pb"},
      {{"--route=*.example.com/api/v1"},
       R"pb(routes { host: "*.example.com" path_prefix: "/api/v1" })pb"},
      {{"--route=shop.example.com"}, R"pb(routes { host: "shop.example.com" })pb"},
      {{"--host=a.example.com", "--route=b.example.com/"},
       R"pb(routes { host: "a.example.com" path_prefix: "" }
            routes { host: "b.example.com" path_prefix: "/" })pb"},
      {{"--total-active-users=1000"}, "total_active_users: 1000"},
      {{"--new-users-per-minute", "60"}, "new_users_per_minute: 60"},
      {{"--session-duration=300"}, "session_duration_seconds: 300"},
      {{"--session-duration=300s"}, "session_duration_seconds: 300"},
      {{"--session-duration=5m"}, "session_duration_seconds: 300"},
      {{"--session-duration=1h"}, "session_duration_seconds: 3600"},
      {{"--session-renewal=false"}, "session_renewal: false"},
      {{"--max-session-duration=2h"}, "max_session_duration_seconds: 7200"},
      {{"--abandon-grace=10m"}, "abandon_grace_seconds: 600"},
      {{"--session-renewal"}, "session_renewal: true"},
      {{"--queueing-method=fifo"}, "queueing_method: QUEUEING_METHOD_FIFO"},
      {{"--queueing-method=random"}, "queueing_method: QUEUEING_METHOD_RANDOM"},
      {{"--queueing-method=passthrough"}, "queueing_method: QUEUEING_METHOD_PASSTHROUGH"},
      {{"--queueing-method=REJECT"}, "queueing_method: QUEUEING_METHOD_REJECT"},
      {{"--queue-all"}, "queue_all: true"},
      {{"--queue-all=false"}, ""},
      {{"--suspended=true"}, "suspended: true"},
      {{"--refresh-interval=30s"}, "refresh_interval_seconds: 30"},
      {{"--queueing-status-code=429"}, "queueing_status_code: 429"},
      {{"--json-response"}, "json_response: true"},
      {{"--page-language=de"}, R"pb(page { default_language: "de" })pb"},
      {{"--page-title=Big sale"}, R"pb(page { title: "Big sale" })pb"},
      {{"--page-template-file", page}, R"pb(page { custom_html: "<p>{{position}}</p>" })pb"},
      {{"--event-prequeue-start=2026-12-01T09:00:00Z"},
       "event { prequeue_start_unix: 1796115600 }"},
      {{"--event-start=2026-12-01T10:00:00Z"}, "event { start_unix: 1796119200 }"},
      {{"--event-end=1796122800"}, "event { end_unix: 1796122800 }"},
      {{"--event-shuffle"}, "event { shuffle_at_event_start: true }"},
      {{"--event-total-active-users=5000"}, "event { overrides { total_active_users: 5000 } }"},
      {{"--event-new-users-per-minute=300"}, "event { overrides { new_users_per_minute: 300 } }"},
      {{"--event-session-duration=10m"}, "event { overrides { session_duration_seconds: 600 } }"},
      {{"--event-page-language=fr"},
       R"pb(event { overrides { page { default_language: "fr" } } })pb"},
      {{"--event-page-title=Launch"}, R"pb(event { overrides { page { title: "Launch" } } })pb"},
      {{"--event-page-template-file=" + event_page},
       R"pb(event { overrides { page { custom_html: "<p>sale</p>" } } })pb"},
      {{"--bypass-path=/static/", "--bypass-path=/healthz"},
       R"pb(bypass { path_prefix: "/static/" }
            bypass { path_prefix: "/healthz" })pb"},
      {{"--bypass-header=X-Load-Test=secret"},
       R"pb(bypass { header { name: "X-Load-Test" value: "secret" } })pb"},
      {{"--bypass-cidr=10.0.0.0/8", "--bypass-cidr=2001:db8::/32"},
       R"pb(bypass { client_cidr: "10.0.0.0/8" }
            bypass { client_cidr: "2001:db8::/32" })pb"},
      {{"--bypass-signed-token"}, "bypass { signed_token: true }"},
      {{"--cookie-suffix=shop"}, R"pb(cookie { name_suffix: "shop" })pb"},
      {{"--cookie-domain=.example.com"}, R"pb(cookie { domain: ".example.com" })pb"},
      {{"--cookie-secure"}, "cookie { secure: true }"},
      {{"--cookie-samesite=strict"}, "cookie { same_site: SAME_SITE_STRICT }"},
      {{"--cookie-samesite=lax"}, "cookie { same_site: SAME_SITE_LAX }"},
      {{"--cookie-samesite=none"}, "cookie { same_site: SAME_SITE_NONE }"},
      {{"--pool=eu", "--pool=us"}, R"pb(pools: "eu" pools: "us")pb"},
      {{"--fallback-pool=static"}, R"pb(fallback_pool: "static")pb"},
      {{"--fail-mode=open"}, "fail_mode: FAIL_MODE_OPEN"},
      {{"--fail-mode=closed"}, "fail_mode: FAIL_MODE_CLOSED"},
  };
  for (const FieldCase& c : cases) {
    v1::Room room;
    absl::Status status = Apply(c.args, &room);
    ASSERT_TRUE(status.ok()) << c.args[0] << ": " << status;
    v1::Room expected = FromText(c.expected);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(room, expected))
        << c.args[0] << "\n got: " << room.ShortDebugString()
        << "\n want: " << expected.ShortDebugString();
  }
  std::remove(page.c_str());
  std::remove(event_page.c_str());
}

TEST(RoomFlagsTest, EveryRoomFieldHasAFlag) {
  // Guards against a new Room field without a flag: each top-level field except the ones the
  // coordinator sets (and id, the positional) must be reachable from the cases above.
  const google::protobuf::Descriptor* d = v1::Room::descriptor();
  std::vector<std::string> missing;
  std::vector<std::string> covered = {"routes",
                                      "total_active_users",
                                      "new_users_per_minute",
                                      "session_duration_seconds",
                                      "session_renewal",
                                      "max_session_duration_seconds",
                                      "abandon_grace_seconds",
                                      "queueing_method",
                                      "queue_all",
                                      "suspended",
                                      "refresh_interval_seconds",
                                      "queueing_status_code",
                                      "json_response",
                                      "page",
                                      "event",
                                      "bypass",
                                      "cookie",
                                      "pools",
                                      "fallback_pool",
                                      "fail_mode"};
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& name = d->field(i)->name();
    if (name == "id" || name == "version" || name == "created_unix" || name == "updated_unix") {
      continue;
    }
    if (std::find(covered.begin(), covered.end(), name) == covered.end()) missing.push_back(name);
  }
  EXPECT_TRUE(missing.empty()) << "Room fields without a flag: " << missing.front();
}

struct ErrorCase {
  std::vector<std::string> args;
  std::string error;  // Exact message.
};

TEST(RoomFlagsTest, BadValuesNameTheFlag) {
  std::vector<ErrorCase> cases = {
      {{"--total-active-users=abc"},
       "--total-active-users: expected a positive integer, got 'abc'"},
      {{"--total-active-users=0"}, "--total-active-users: expected a positive integer, got '0'"},
      {{"--new-users-per-minute=-3"},
       "--new-users-per-minute: expected a positive integer, got '-3'"},
      {{"--session-duration=forever"},
       "--session-duration: expected a duration such as 300, 300s, 5m or 1h, got 'forever'"},
      {{"--session-renewal=maybe"}, "--session-renewal: expected true or false, got 'maybe'"},
      {{"--queueing-method=lifo"},
       "--queueing-method: expected one of fifo, random, passthrough, reject, got 'lifo'"},
      {{"--queue-all=2"}, "--queue-all: expected true or false, got '2'"},
      {{"--suspended=nope"}, "--suspended: expected true or false, got 'nope'"},
      {{"--refresh-interval=x"},
       "--refresh-interval: expected a duration such as 300, 300s, 5m or 1h, got 'x'"},
      {{"--queueing-status-code=404"},
       "--queueing-status-code: expected one of 200, 202, 429, 503, got '404'"},
      {{"--json-response=si"}, "--json-response: expected true or false, got 'si'"},
      {{"--page-template-file=/nonexistent/page.html"},
       "--page-template-file: cannot read '/nonexistent/page.html'"},
      {{"--event-prequeue-start=soon"},
       "--event-prequeue-start: expected an RFC 3339 time such as 2026-12-01T10:00:00Z or Unix "
       "seconds, got 'soon'"},
      {{"--event-start=2026-12-01"},
       "--event-start: expected an RFC 3339 time such as 2026-12-01T10:00:00Z or Unix seconds, "
       "got '2026-12-01'"},
      {{"--event-end=yesterday"},
       "--event-end: expected an RFC 3339 time such as 2026-12-01T10:00:00Z or Unix seconds, got "
       "'yesterday'"},
      {{"--event-shuffle=x"}, "--event-shuffle: expected true or false, got 'x'"},
      {{"--event-total-active-users=-1"},
       "--event-total-active-users: expected a non-negative integer, got '-1'"},
      {{"--event-new-users-per-minute=many"},
       "--event-new-users-per-minute: expected a non-negative integer, got 'many'"},
      {{"--event-session-duration=1.5s"},
       "--event-session-duration: must be whole seconds, got '1.5s'"},
      {{"--event-page-template-file=/nonexistent/e.html"},
       "--event-page-template-file: cannot read '/nonexistent/e.html'"},
      {{"--bypass-header=NoEquals"}, "--bypass-header: expected NAME=VALUE, got 'NoEquals'"},
      {{"--bypass-signed-token=perhaps"},
       "--bypass-signed-token: expected true or false, got 'perhaps'"},
      {{"--cookie-secure=x"}, "--cookie-secure: expected true or false, got 'x'"},
      {{"--cookie-samesite=loose"},
       "--cookie-samesite: expected one of lax, strict, none, got 'loose'"},
      {{"--fail-mode=ajar"}, "--fail-mode: expected one of open, closed, got 'ajar'"},
      {{"--route=https://shop.example.com/"},
       "--route: expected HOST/PATH without a scheme, got 'https://shop.example.com/'"},
  };
  for (const ErrorCase& c : cases) {
    v1::Room room;
    absl::Status status = Apply(c.args, &room);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.args[0];
    EXPECT_EQ(status.message(), c.error) << c.args[0];
  }
}

v1::Room StoredRoom() {
  return FromText(R"pb(
    id: "shop"
    routes { host: "shop.example.com" path_prefix: "/" }
    total_active_users: 100
    new_users_per_minute: 10
    queue_all: true
    bypass { path_prefix: "/static/" }
    bypass { client_cidr: "10.0.0.0/8" }
    bypass { signed_token: true }
    pools: "eu"
    event {
      start_unix: 1796119200
      overrides { total_active_users: 500 }
    }
    version: 7
  )pb");
}

TEST(RoomFlagsTest, UpdateChangesOnlyTheFlagsGiven) {
  v1::Room room = StoredRoom();
  ASSERT_TRUE(Apply({"--new-users-per-minute=20", "--queue-all=false"}, &room).ok());
  v1::Room expected = StoredRoom();
  expected.set_new_users_per_minute(20);
  expected.set_queue_all(false);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(room, expected))
      << room.ShortDebugString();
}

TEST(RoomFlagsTest, ListFlagsReplaceTheirList) {
  v1::Room room = StoredRoom();
  ASSERT_TRUE(Apply({"--route=/", "--pool=us", "--pool=ap"}, &room).ok());
  ASSERT_EQ(room.routes_size(), 1);
  EXPECT_EQ(room.routes(0).host(), "");
  EXPECT_EQ(room.routes(0).path_prefix(), "/");
  EXPECT_THAT(room.pools(), ::testing::ElementsAre("us", "ap"));

  ASSERT_TRUE(Apply({"--pool=", "--route="}, &room).ok());
  EXPECT_TRUE(room.pools().empty());
  EXPECT_TRUE(room.routes().empty());
}

TEST(RoomFlagsTest, BypassKindsAreReplacedSeparately) {
  v1::Room room = StoredRoom();
  ASSERT_TRUE(Apply({"--bypass-path=/assets/", "--bypass-path=/favicon.ico"}, &room).ok());
  std::vector<std::string> rules;
  for (const auto& r : room.bypass()) rules.push_back(r.ShortDebugString());
  EXPECT_THAT(rules, ::testing::UnorderedElementsAre(
                         R"(client_cidr: "10.0.0.0/8")", "signed_token: true",
                         R"(path_prefix: "/assets/")", R"(path_prefix: "/favicon.ico")"));

  ASSERT_TRUE(Apply({"--bypass-signed-token=false", "--bypass-cidr="}, &room).ok());
  rules.clear();
  for (const auto& r : room.bypass()) rules.push_back(r.ShortDebugString());
  EXPECT_THAT(rules, ::testing::ElementsAre(R"(path_prefix: "/assets/")",
                                            R"(path_prefix: "/favicon.ico")"));
}

TEST(RoomFlagsTest, ZeroRemovesAnEventOverride) {
  v1::Room room = StoredRoom();
  ASSERT_TRUE(room.event().overrides().has_total_active_users());
  ASSERT_TRUE(Apply({"--event-total-active-users=0"}, &room).ok());
  EXPECT_FALSE(room.event().overrides().has_total_active_users());
}

TEST(RoomFlagsTest, EmptyTemplateFileRestoresTheBuiltInPage) {
  v1::Room room = StoredRoom();
  room.mutable_page()->set_custom_html("<p>old</p>");
  ASSERT_TRUE(Apply({"--page-template-file="}, &room).ok());
  EXPECT_EQ(room.page().custom_html(), "");
}

TEST(RoomFlagsTest, FromFileReplacesSettingsThenFlagsApply) {
  std::string path = WriteTempFile("room_flags_room.yaml",
                                   "total_active_users: 300\n"
                                   "new_users_per_minute: 30\n"
                                   "queueing_method: random\n"
                                   "routes:\n"
                                   "  - host: tickets.example.com\n");
  v1::Room room = StoredRoom();
  ASSERT_TRUE(Apply({"--from-file=" + path, "--suspended"}, &room).ok());
  v1::Room expected = FromText(R"pb(
    id: "shop"
    routes { host: "tickets.example.com" }
    total_active_users: 300
    new_users_per_minute: 30
    queueing_method: QUEUEING_METHOD_RANDOM
    suspended: true
    version: 7
  )pb");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(room, expected))
      << room.ShortDebugString();

  std::string other = WriteTempFile("room_flags_other.yaml", "id: cart\n");
  absl::Status status = Apply({"--from-file=" + other}, &room);
  EXPECT_EQ(status.message(), "--from-file: the file is for room 'cart', not 'shop'");

  std::string bad = WriteTempFile("room_flags_bad.yaml", "total_active_users: lots\n");
  status = Apply({"--from-file=" + bad}, &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith("--from-file: " + bad + ":1:"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("total_active_users"));

  status = Apply({"--from-file=/nonexistent/room.yaml"}, &room);
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith("--from-file: "));
  for (const std::string& p : {path, other, bad}) std::remove(p.c_str());
}

TEST(RoomFlagsTest, InvalidSettingFromFileNamesTheFile) {
  std::string path =
      WriteTempFile("room_flags_invalid.yaml", "total_active_users: 0\nnew_users_per_minute: 5\n");
  v1::Room room;
  room.set_id("shop");
  absl::StatusOr<ParsedArgs> parsed = ParseArgs({"--from-file=" + path}, RoomFlagSpecs());
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(ApplyRoomFlags(*parsed, &room).ok());
  EXPECT_THAT(std::string(ValidateRoomFromFlags(room, *parsed).message()),
              ::testing::StartsWith("--from-file: room.total_active_users: "));
  std::remove(path.c_str());
}

TEST(RoomFlagsTest, ValidationErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  std::vector<Case> cases = {
      {{"--bypass-cidr=10.0.0.0/40"},
       "--bypass-cidr: room.bypass[2].client_cidr: prefix length must be 0-32"},
      {{"--session-duration=5"},
       "--session-duration: room.session_duration_seconds: must be at least 10"},
      {{"--route=shop example.com/"}, "--route: room.routes[0].host: invalid character ' '"},
      {{"--cookie-samesite=none"},
       "--cookie-samesite: room.cookie.same_site: NONE requires cookie.secure"},
      {{"--event-end=1796119100"}, "--event-end: room.event.end_unix: must be after"},
      {{"--pool=EU"}, "--pool: room.pools[0]: may contain only"},
      {{"--refresh-interval=2h"}, "--refresh-interval: room.refresh_interval_seconds"},
      {{"--page-title=" + std::string(300, 't')}, "--page-title: room.page.title: longer than"},
      {{"--event-page-title=" + std::string(300, 't')},
       "--event-page-title: room.event.overrides.page.title: longer than"},
      {{"--event-page-language=en_GB"},
       "--event-page-language: room.event.overrides.page.default_language"},
  };
  for (const Case& c : cases) {
    v1::Room room = StoredRoom();
    absl::StatusOr<ParsedArgs> parsed = ParseArgs(c.args, RoomFlagSpecs());
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(ApplyRoomFlags(*parsed, &room).ok()) << c.args[0];
    absl::Status status = ValidateRoomFromFlags(room, *parsed);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.args[0];
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.error)) << c.args[0];
  }
}

TEST(RoomFlagsTest, TheCoordinatorsFieldErrorsNameTheFlagToo) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs({"--pool=eu"}, RoomFlagSpecs());
  ASSERT_TRUE(parsed.ok());
  absl::Status server = absl::InvalidArgumentError("room.pools[0]: unknown pool 'eu'");
  EXPECT_EQ(RoomErrorToFlag(server, *parsed).message(), "--pool: room.pools[0]: unknown pool 'eu'");
  // Other codes pass unchanged.
  absl::Status missing = absl::NotFoundError("room.pools[0]: whatever");
  EXPECT_EQ(RoomErrorToFlag(missing, *parsed), missing);
}

TEST(RoomFlagsTest, ValidationErrorWithoutItsFlagIsUnchanged) {
  v1::Room room = StoredRoom();
  room.set_total_active_users(0);  // Not set by any flag given.
  absl::StatusOr<ParsedArgs> parsed = ParseArgs({"--suspended"}, RoomFlagSpecs());
  ASSERT_TRUE(parsed.ok());
  absl::Status status = ValidateRoomFromFlags(room, *parsed);
  EXPECT_THAT(std::string(status.message()), ::testing::StartsWith("room.total_active_users: "));
}

}  // namespace
}  // namespace anteroom::ctl
