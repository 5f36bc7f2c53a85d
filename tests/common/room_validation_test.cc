// Operator input that must be refused, each with an error naming the field it came from.

#include "common/room_validation.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace anteroom::common {
namespace {

v1::Room ValidRoom() {
  v1::Room room;
  room.set_id("shop");
  room.set_total_active_users(100);
  room.set_new_users_per_minute(600);
  room.add_routes()->set_path_prefix("/");
  return room;
}

v1::Pool ValidPool() {
  v1::Pool pool;
  pool.set_id("web");
  auto* origin = pool.add_origins();
  origin->set_address("10.0.0.1");
  origin->set_port(8080);
  return pool;
}

template <typename Message>
struct Case {
  std::function<void(Message&)> mutate;
  std::string field;  // The error must start with it.
};

// Applies each case to a copy of `valid` and expects `validate` to refuse it naming the field.
template <typename Message>
void ExpectEachRefusedNamingItsField(const std::vector<Case<Message>>& cases, const Message& valid,
                                     absl::Status (*validate)(const Message&)) {
  for (const auto& c : cases) {
    Message message = valid;
    c.mutate(message);
    absl::Status s = validate(message);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(s.message().rfind(c.field + ":", 0), 0u) << c.field << " -> " << s;
  }
}

TEST(RoomValidationTest, ValidInputPasses) {
  EXPECT_TRUE(ValidateRoom(ValidRoom()).ok());
  v1::Pool pool = ValidPool();
  pool.mutable_monitor()->set_method("HEAD");
  pool.mutable_monitor()->set_host_header("web_backend:8443");
  (*pool.mutable_monitor()->mutable_headers())["X-Probe"] = "anteroom; v=1";
  pool.mutable_origins(0)->set_name("web-1 (eu-west)");
  EXPECT_TRUE(ValidatePool(pool).ok()) << ValidatePool(pool);
  v1::Room room = ValidRoom();
  room.mutable_page()->set_title("Tickets: Summer Tour 2027");
  room.mutable_page()->set_default_language("pt-BR");
  EXPECT_TRUE(ValidateRoom(room).ok()) << ValidateRoom(room);
}

TEST(RoomValidationTest, BadRoomSettingsNameTheField) {
  const std::vector<Case<v1::Room>> cases = {
      {[](v1::Room& r) { r.set_max_session_duration_seconds(-1); },
       "room.max_session_duration_seconds"},
      {[](v1::Room& r) {
         r.set_session_duration_seconds(600);
         r.set_max_session_duration_seconds(300);
       },
       "room.max_session_duration_seconds"},
      {[](v1::Room& r) { r.set_abandon_grace_seconds(-5); }, "room.abandon_grace_seconds"},
      {[](v1::Room& r) { r.set_abandon_grace_seconds(30); }, "room.abandon_grace_seconds"},
      {[](v1::Room& r) { r.mutable_page()->set_title(std::string(300, 't')); }, "room.page.title"},
      {[](v1::Room& r) { r.mutable_page()->set_title("Sale\r\nSet-Cookie: x=1"); },
       "room.page.title"},
      {[](v1::Room& r) { r.mutable_page()->set_default_language("en;q=1"); },
       "room.page.default_language"},
      {[](v1::Room& r) {
         r.mutable_event()->mutable_overrides()->mutable_page()->set_title("a\nb");
       },
       "room.event.overrides.page.title"},
      {[](v1::Room& r) {
         r.mutable_event()->mutable_overrides()->mutable_page()->set_default_language(
             std::string(17, 'e'));
       },
       "room.event.overrides.page.default_language"},
      {[](v1::Room& r) {
         r.mutable_event()->mutable_overrides()->mutable_page()->set_custom_html(
             std::string(300 * 1024, 'x'));
       },
       "room.event.overrides.page.custom_html"},
      {[](v1::Room& r) { r.mutable_cookie()->set_same_site(static_cast<v1::SameSite>(9)); },
       "room.cookie.same_site"},
      {[](v1::Room& r) { r.mutable_cookie()->set_same_site(v1::SAME_SITE_NONE); },
       "room.cookie.same_site"},
      {[](v1::Room& r) { r.set_queueing_method(static_cast<v1::QueueingMethod>(42)); },
       "room.queueing_method"},
      {[](v1::Room& r) { r.mutable_routes(0)->set_host("shop example.com"); },
       "room.routes[0].host"},
      {[](v1::Room& r) { r.add_bypass(); }, "room.bypass[0]"},
  };
  ExpectEachRefusedNamingItsField(cases, ValidRoom(), &ValidateRoom);
}

TEST(RoomValidationTest, BadPoolSettingsNameTheField) {
  const std::vector<Case<v1::Pool>> cases = {
      {[](v1::Pool& p) { p.mutable_monitor()->set_method("GET /admin"); }, "pool.monitor.method"},
      {[](v1::Pool& p) { p.mutable_monitor()->set_method(std::string(33, 'G')); },
       "pool.monitor.method"},
      {[](v1::Pool& p) { p.mutable_monitor()->set_host_header("a.example\r\nX-Evil: 1"); },
       "pool.monitor.host_header"},
      {[](v1::Pool& p) { p.mutable_monitor()->set_host_header("a.example /x"); },
       "pool.monitor.host_header"},
      {[](v1::Pool& p) { (*p.mutable_monitor()->mutable_headers())["host"] = "a.example"; },
       "pool.monitor.headers[host]"},
      {[](v1::Pool& p) { (*p.mutable_monitor()->mutable_headers())["Content-Length"] = "5"; },
       "pool.monitor.headers[Content-Length]"},
      {[](v1::Pool& p) { (*p.mutable_monitor()->mutable_headers())["X\r\nEvil"] = "1"; },
       "pool.monitor.headers[X\\r\\nEvil]"},
      {[](v1::Pool& p) { (*p.mutable_monitor()->mutable_headers())["X-A"] = "1\r\nX-Evil: 1"; },
       "pool.monitor.headers[X-A]"},
      {[](v1::Pool& p) { (*p.mutable_monitor()->mutable_headers())["Bad Name"] = "1"; },
       "pool.monitor.headers[Bad Name]"},
      {[](v1::Pool& p) {
         (*p.mutable_monitor()->mutable_headers())["X-Big"] = std::string(5000, 'v');
       },
       "pool.monitor.headers[X-Big]"},
      {[](v1::Pool& p) {
         for (int i = 0; i < 33; ++i) {
           (*p.mutable_monitor()->mutable_headers())["X-" + std::to_string(i)] = "1";
         }
       },
       "pool.monitor.headers"},
      {[](v1::Pool& p) { p.mutable_monitor()->set_expected_body(std::string(70 * 1024, 'b')); },
       "pool.monitor.expected_body"},
      {[](v1::Pool& p) { p.mutable_origins(0)->set_name(std::string(129, 'n')); },
       "pool.origins[0].name"},
      {[](v1::Pool& p) { p.mutable_origins(0)->set_name("web\n1"); }, "pool.origins[0].name"},
      {[](v1::Pool& p) { p.mutable_origins(0)->set_port(70000); }, "pool.origins[0].port"},
      {[](v1::Pool& p) { p.mutable_monitor()->set_expected_codes("2xx,banana"); },
       "pool.monitor.expected_codes"},
      {[](v1::Pool& p) { p.set_steering(static_cast<v1::SteeringPolicy>(77)); }, "pool.steering"},
  };
  ExpectEachRefusedNamingItsField(cases, ValidPool(), &ValidatePool);
}

}  // namespace
}  // namespace anteroom::common
