#include "common/yaml_proto.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "anteroom/v1/config.pb.h"
#include "anteroom/v1/pool.pb.h"
#include "anteroom/v1/room.pb.h"

namespace anteroom::common {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(YamlProtoTest, ParsesNestedMessagesRepeatedFieldsMapsAndEnums) {
  v1::AgentConfig config;
  absl::Status status = ParseYamlInto(R"(
listen: 0.0.0.0:8080
coordinators: [a:7400, b:7400]
sync_interval_ms: 250
io_threads: 4
pools:
  - id: main
    minimum_healthy: 2
    steering: weighted_random
    origins:
      - address: 10.0.0.1
        port: 80
        weight: 3
      - address: 10.0.0.2
        port: 8080
        enabled: false
    monitor:
      type: MONITOR_TYPE_HTTPS
      path: /health
      headers:
        Host: app.example.com
        X-Probe: "1"
      follow_redirects: yes
)",
                                      "agent.yaml", &config);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.listen(), "0.0.0.0:8080");
  EXPECT_THAT(config.coordinators(), ::testing::ElementsAre("a:7400", "b:7400"));
  EXPECT_EQ(config.sync_interval_ms(), 250);
  EXPECT_EQ(config.io_threads(), 4);
  ASSERT_EQ(config.pools_size(), 1);
  const v1::Pool& pool = config.pools(0);
  EXPECT_EQ(pool.id(), "main");
  EXPECT_EQ(pool.minimum_healthy(), 2);
  EXPECT_EQ(pool.steering(), v1::STEERING_POLICY_WEIGHTED_RANDOM);
  ASSERT_EQ(pool.origins_size(), 2);
  EXPECT_EQ(pool.origins(0).address(), "10.0.0.1");
  EXPECT_EQ(pool.origins(0).port(), 80);
  EXPECT_EQ(pool.origins(0).weight(), 3);
  EXPECT_FALSE(pool.origins(0).has_enabled());
  EXPECT_EQ(pool.origins(1).port(), 8080);
  EXPECT_TRUE(pool.origins(1).has_enabled());  // proto3 optional: present though false.
  EXPECT_FALSE(pool.origins(1).enabled());
  EXPECT_EQ(pool.monitor().type(), v1::MONITOR_TYPE_HTTPS);
  EXPECT_EQ(pool.monitor().path(), "/health");
  EXPECT_EQ(pool.monitor().headers().at("Host"), "app.example.com");
  EXPECT_EQ(pool.monitor().headers().at("X-Probe"), "1");
  EXPECT_TRUE(pool.monitor().follow_redirects());
}

TEST(YamlProtoTest, AcceptsEnumByFullNameSuffixInAnyCaseAndNumber) {
  struct Case {
    std::string text;
    v1::QueueingMethod want;
  };
  for (const Case& c : {Case{"QUEUEING_METHOD_RANDOM", v1::QUEUEING_METHOD_RANDOM},
                        Case{"fifo", v1::QUEUEING_METHOD_FIFO},
                        Case{"PassThrough", v1::QUEUEING_METHOD_PASSTHROUGH},
                        Case{"queueing_method_reject", v1::QUEUEING_METHOD_REJECT},
                        Case{"2", v1::QUEUEING_METHOD_RANDOM}}) {
    v1::Room room;
    absl::Status status = ParseYamlInto("queueing_method: " + c.text, "room.yaml", &room);
    ASSERT_TRUE(status.ok()) << c.text << ": " << status;
    EXPECT_EQ(room.queueing_method(), c.want) << c.text;
  }
}

TEST(YamlProtoTest, AcceptsJsonNamesAndOneofs) {
  v1::Room room;
  absl::Status status = ParseYamlInto(R"(
id: shop
totalActiveUsers: 100
bypass:
  - path_prefix: /static/
  - header: {name: X-Bypass, value: "yes"}
  - signed_token: true
)",
                                      "room.yaml", &room);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(room.total_active_users(), 100);
  ASSERT_EQ(room.bypass_size(), 3);
  EXPECT_EQ(room.bypass(0).path_prefix(), "/static/");
  EXPECT_EQ(room.bypass(1).header().name(), "X-Bypass");
  EXPECT_EQ(room.bypass(1).header().value(), "yes");  // A string field keeps the text.
  EXPECT_TRUE(room.bypass(2).signed_token());
}

TEST(YamlProtoTest, EmptyDocumentAndNullValuesSetNothing) {
  v1::Room room;
  ASSERT_TRUE(ParseYamlInto("", "empty.yaml", &room).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(room, v1::Room()));
  ASSERT_TRUE(ParseYamlInto("# only a comment\n", "c.yaml", &room).ok());
  ASSERT_TRUE(ParseYamlInto("id:\nsession_renewal: ~\npage:\n", "n.yaml", &room).ok());
  EXPECT_EQ(room.id(), "");
  EXPECT_FALSE(room.has_session_renewal());
  EXPECT_FALSE(room.has_page());
}

TEST(YamlProtoTest, ReplacesPreviousContentOnSuccess) {
  v1::Room room;
  room.set_id("old");
  room.add_pools("old-pool");
  ASSERT_TRUE(ParseYamlInto("total_active_users: 5", "room.yaml", &room).ok());
  EXPECT_EQ(room.id(), "");
  EXPECT_EQ(room.pools_size(), 0);
  EXPECT_EQ(room.total_active_users(), 5);
}

TEST(YamlProtoTest, LeavesOutputUntouchedOnError) {
  v1::Room room;
  room.set_id("keep");
  absl::Status status =
      ParseYamlInto("id: new\ntotal_active_users: 7\nrooom: 1\n", "room.yaml", &room);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(room.id(), "keep");
  EXPECT_EQ(room.total_active_users(), 0);
}

TEST(YamlProtoTest, RejectsUnknownFieldWithLine) {
  v1::Room room;
  absl::Status status = ParseYamlInto("id: shop\n\nrooom: 1\n", "room.yaml", &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), "room.yaml:3:1: rooom: unknown field 'rooom' in anteroom.v1.Room");
}

TEST(YamlProtoTest, RejectsUnknownNestedFieldWithPath) {
  v1::AgentConfig config;
  absl::Status status = ParseYamlInto(R"(pools:
  - id: a
    origins:
      - address: x
        prot: 80
)",
                                      "agent.yaml", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "agent.yaml:5:9: pools[0].origins[0].prot: unknown field 'prot' in "
            "anteroom.v1.Origin");
}

TEST(YamlProtoTest, RejectsWrongTypeNamingFieldPathAndValue) {
  v1::AgentConfig config;
  absl::Status status = ParseYamlInto(R"(pools:
  - id: a
    origins:
      - address: x
        port: 80
      - address: y
        port: abc
)",
                                      "agent.yaml", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "agent.yaml:7:15: pools[0].origins[1].port: expected an integer, got 'abc'");
}

TEST(YamlProtoTest, RejectsInt32Overflow) {
  v1::Room room;
  absl::Status status = ParseYamlInto("queueing_status_code: 3000000000\n", "room.yaml", &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "room.yaml:1:23: queueing_status_code: out of range for int32 (got 3000000000)");
}

TEST(YamlProtoTest, RejectsInt64OverflowAndFractions) {
  v1::Room room;
  EXPECT_THAT(Message(ParseYamlInto("version: 99999999999999999999", "r", &room)),
              HasSubstr("version: out of range for int64"));
  EXPECT_THAT(Message(ParseYamlInto("version: 1.5", "r", &room)),
              HasSubstr("version: expected an integer, got '1.5'"));
}

TEST(YamlProtoTest, RejectsUnknownEnumValueListingAcceptedNames) {
  v1::Room room;
  absl::Status status = ParseYamlInto("queueing_method: fifoo\n", "room.yaml", &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status),
            "room.yaml:1:18: queueing_method: unknown value 'fifoo' for "
            "anteroom.v1.QueueingMethod; accepted: unspecified, fifo, random, passthrough, reject "
            "(or the full name such as QUEUEING_METHOD_REJECT, or the number)");
  EXPECT_FALSE(ParseYamlInto("queueing_method: 9", "room.yaml", &room).ok());
}

TEST(YamlProtoTest, RejectsYamlSyntaxErrorWithPosition) {
  v1::Room room;
  absl::Status status = ParseYamlInto("id: shop\nroutes: [a, b\n", "room.yaml", &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), ::testing::StartsWith("room.yaml:"));
  EXPECT_THAT(Message(status), HasSubstr("YAML syntax error"));

  status = ParseYamlInto("id: shop\n  bad: indent\n", "room.yaml", &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), ::testing::StartsWith("room.yaml:2:"));
  EXPECT_THAT(Message(status), HasSubstr("YAML syntax error"));
}

TEST(YamlProtoTest, RejectsShapeMismatches) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  for (const Case& c : {
           Case{"- a\n- b\n", "r.yaml:1:1: (top level): expected a map, got a sequence"},
           Case{"just text", "r.yaml:1:1: (top level): expected a map, got 'just text'"},
           Case{"pools: main", "r.yaml:1:8: pools: expected a sequence, got 'main'"},
           Case{"routes: [x]", "r.yaml:1:10: routes[0]: expected a map, got 'x'"},
           Case{"id: [a]", "r.yaml:1:5: id: expected a string, got a sequence"},
           Case{"queue_all: maybe", "r.yaml:1:12: queue_all: expected true or false, got 'maybe'"},
           Case{"page: {title: a}\npage: {title: b}\n", "r.yaml:2:1: page: set more than once"},
           Case{"bypass:\n  - path_prefix: /a\n    client_cidr: 10.0.0.0/8\n",
                "r.yaml:3:5: bypass[0].client_cidr: only one of oneof 'rule' may be set, and "
                "'path_prefix' already is"},
           Case{"? [a]\n: 1\n", "r.yaml:1:3: (top level): expected a field name, got a sequence"},
       }) {
    v1::Room room;
    absl::Status status = ParseYamlInto(c.yaml, "r.yaml", &room);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_EQ(Message(status), c.want) << c.yaml;
  }
}

TEST(YamlProtoTest, RejectsBadMapEntries) {
  v1::Monitor monitor;
  absl::Status status = ParseYamlInto("headers:\n  Host: a\n  Host: b\n", "m.yaml", &monitor);
  EXPECT_EQ(Message(status), "m.yaml:3:3: headers[\"Host\"]: set more than once");
  status = ParseYamlInto("headers:\n  Host: [a]\n", "m.yaml", &monitor);
  EXPECT_EQ(Message(status), "m.yaml:2:9: headers[\"Host\"]: expected a string, got a sequence");
  status = ParseYamlInto("headers: [a]\n", "m.yaml", &monitor);
  EXPECT_EQ(Message(status), "m.yaml:1:10: headers: expected a map, got a sequence");
}

TEST(YamlProtoTest, ParsesFloatingPointBytesAndUnsigned) {
  google::protobuf::DoubleValue d;
  ASSERT_TRUE(ParseYamlInto("value: 0.25", "d", &d).ok());
  EXPECT_EQ(d.value(), 0.25);
  ASSERT_TRUE(ParseYamlInto("value: -.inf", "d", &d).ok());
  EXPECT_TRUE(std::isinf(d.value()) && d.value() < 0);
  ASSERT_TRUE(ParseYamlInto("value: .NaN", "d", &d).ok());
  EXPECT_TRUE(std::isnan(d.value()));
  EXPECT_EQ(Message(ParseYamlInto("value: fast", "d", &d)),
            "d:1:8: value: expected a number, got 'fast'");

  google::protobuf::FloatValue f;
  EXPECT_EQ(Message(ParseYamlInto("value: 1e300", "f", &f)),
            "f:1:8: value: out of range for float (got 1e300)");

  google::protobuf::UInt32Value u;
  EXPECT_EQ(Message(ParseYamlInto("value: -1", "u", &u)),
            "u:1:8: value: out of range for uint32 (got -1)");
  ASSERT_TRUE(ParseYamlInto("value: 4294967295", "u", &u).ok());
  EXPECT_EQ(u.value(), 4294967295u);

  google::protobuf::BytesValue b;
  ASSERT_TRUE(ParseYamlInto("value: raw text", "b", &b).ok());
  EXPECT_EQ(b.value(), "raw text");
  ASSERT_TRUE(ParseYamlInto("value: !!binary AAEC", "b", &b).ok());
  EXPECT_EQ(b.value(), std::string("\x00\x01\x02", 3));
}

TEST(YamlProtoTest, SetFieldFromTextChecksRanges) {
  const auto* field = v1::Origin::descriptor()->FindFieldByName("port");
  v1::Origin origin;
  EXPECT_TRUE(SetFieldFromText(*field, "2147483647", &origin).ok());
  EXPECT_EQ(origin.port(), 2147483647);
  EXPECT_EQ(Message(SetFieldFromText(*field, "2147483648", &origin)),
            "out of range for int32 (got 2147483648)");
  EXPECT_EQ(Message(SetFieldFromText(*field, "", &origin)), "expected an integer, got ''");
  EXPECT_EQ(origin.port(), 2147483647);  // Unchanged by the failures.
  EXPECT_TRUE(SetFieldFromText(*field, "-2147483648", &origin).ok());
  EXPECT_EQ(origin.port(), -2147483648);
}

TEST(YamlProtoTest, LoadYamlFileReadsAndNamesThePath) {
  std::string dir = ::testing::TempDir() + "yaml_proto_test_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::string good = dir + "/good.yaml";
  std::ofstream(good) << "id: shop\ntotal_active_users: 10\n";
  std::string bad = dir + "/bad.yaml";
  std::ofstream(bad) << "id: shop\ntotal_active_users: many\n";

  v1::Room room;
  ASSERT_TRUE(LoadYamlFile(good, &room).ok());
  EXPECT_EQ(room.id(), "shop");

  absl::Status status = LoadYamlFile(bad, &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), bad + ":2:21: total_active_users: expected an integer, got 'many'");
  EXPECT_EQ(room.id(), "shop");

  status = LoadYamlFile(dir + "/missing.yaml", &room);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(status), HasSubstr(dir + "/missing.yaml"));

  status = LoadYamlFile(dir, &room);  // A directory opens but does not read.
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), HasSubstr(dir));
  std::filesystem::remove_all(dir);
}

TEST(YamlProtoTest, MessageToYamlRendersSetFields) {
  v1::Origin origin;
  origin.set_address("10.0.0.1");
  origin.set_port(80);
  origin.set_enabled(false);
  EXPECT_EQ(MessageToYaml(origin), "address: 10.0.0.1\nport: 80\nenabled: false\n");
  EXPECT_EQ(MessageToYaml(v1::Origin()), "{}\n");
}

TEST(YamlProtoTest, MessageToYamlRoundTrips) {
  v1::AgentConfig config;
  config.set_listen("0.0.0.0:8080");
  config.add_coordinators("a:7400");
  config.add_coordinators("");
  config.add_coordinators("null");
  config.set_mode("true");
  config.set_default_upstream("123");
  config.set_keys_file(" spaced: \"quoted\" # not a comment ");
  config.set_max_body_bytes(-5);
  v1::Pool* pool = config.add_pools();
  pool->set_id("main");
  pool->set_steering(v1::STEERING_POLICY_LOWEST_LATENCY);
  pool->mutable_monitor()->mutable_headers()->insert({"Host", "a.example"});
  pool->mutable_monitor()->mutable_headers()->insert({"X-Two", "line1\nline2\n"});
  pool->add_origins()->set_address("x");
  pool->add_origins();  // An empty message in a sequence.
  std::string yaml = MessageToYaml(config);

  v1::AgentConfig parsed;
  absl::Status status = ParseYamlInto(yaml, "printed", &parsed);
  ASSERT_TRUE(status.ok()) << status << "\n" << yaml;
  EXPECT_TRUE(MessageDifferencer::Equals(config, parsed)) << yaml << "\n" << parsed.DebugString();
  EXPECT_THAT(yaml, HasSubstr("steering: STEERING_POLICY_LOWEST_LATENCY"));
}

TEST(YamlProtoTest, MessageToYamlRoundTripsNumbersAndBytes) {
  for (double value : {0.1, -1e-300, 12345678.875, 1e21, double{INFINITY}}) {
    google::protobuf::DoubleValue d;
    d.set_value(value);
    google::protobuf::DoubleValue parsed;
    ASSERT_TRUE(ParseYamlInto(MessageToYaml(d), "d", &parsed).ok()) << MessageToYaml(d);
    EXPECT_EQ(parsed.value(), value) << MessageToYaml(d);
  }
  google::protobuf::FloatValue f;
  f.set_value(0.1f);
  EXPECT_EQ(MessageToYaml(f), "value: 0.1\n");
  google::protobuf::BytesValue b;
  b.set_value(std::string("\x00\xff\n", 3));
  google::protobuf::BytesValue parsed;
  ASSERT_TRUE(ParseYamlInto(MessageToYaml(b), "b", &parsed).ok()) << MessageToYaml(b);
  EXPECT_EQ(parsed.value(), b.value());
}

}  // namespace
}  // namespace anteroom::common
