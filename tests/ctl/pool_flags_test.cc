#include "ctl/pool_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace anteroom::ctl {
namespace {

using ::testing::HasSubstr;

v1::Pool FromText(const std::string& text) {
  v1::Pool pool;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &pool)) << text;
  return pool;
}

absl::Status Apply(const std::vector<std::string>& args, v1::Pool* pool) {
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, PoolFlagSpecs());
  if (!parsed.ok()) return parsed.status();
  return ApplyPoolFlags(*parsed, pool);
}

TEST(PoolFlagsTest, EveryFlagSetsItsField) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{"--origin=10.0.0.1:8080"}, R"pb(origins { address: "10.0.0.1" port: 8080 })pb"},
      {{"--origin=app-1.internal:80,weight=5", "--origin=app-2.internal:80,disabled"},
       R"pb(origins { address: "app-1.internal" port: 80 weight: 5 }
            origins { address: "app-2.internal" port: 80 enabled: false })pb"},
      {{"--origin=[2001:db8::1]:443,name=v6,enabled,weight=0"},
       R"pb(origins { address: "2001:db8::1" port: 443 name: "v6" enabled: true weight: 0 })pb"},
      {{"--minimum-healthy=2"}, "minimum_healthy: 2"},
      {{"--monitor-type=https"}, "monitor { type: MONITOR_TYPE_HTTPS }"},
      {{"--monitor-type=tcp"}, "monitor { type: MONITOR_TYPE_TCP }"},
      {{"--monitor-type=http"}, "monitor { type: MONITOR_TYPE_HTTP }"},
      {{"--monitor-method=head"}, R"pb(monitor { method: "HEAD" })pb"},
      {{"--monitor-path=/healthz"}, R"pb(monitor { path: "/healthz" })pb"},
      {{"--monitor-host=app.internal"}, R"pb(monitor { host_header: "app.internal" })pb"},
      {{"--monitor-header=X-Probe=1", "--monitor-header=Authorization=Bearer x"},
       R"pb(monitor {
              headers { key: "X-Probe" value: "1" }
              headers { key: "Authorization" value: "Bearer x" }
            })pb"},
      {{"--expected-codes=200,301"}, R"pb(monitor { expected_codes: "200,301" })pb"},
      {{"--expected-body=OK"}, R"pb(monitor { expected_body: "OK" })pb"},
      {{"--interval=2s"}, "monitor { interval_ms: 2000 }"},
      {{"--interval=1500"}, "monitor { interval_ms: 1500 }"},
      {{"--timeout=500ms"}, "monitor { timeout_ms: 500 }"},
      {{"--consecutive-up=4"}, "monitor { consecutive_up: 4 }"},
      {{"--consecutive-down=5"}, "monitor { consecutive_down: 5 }"},
      {{"--jitter=250"}, "monitor { jitter_ms: 250 }"},
      {{"--follow-redirects"}, "monitor { follow_redirects: true }"},
      {{"--allow-insecure=true"}, "monitor { allow_insecure: true }"},
      {{"--steering=failover"}, "steering: STEERING_POLICY_FAILOVER"},
      {{"--steering=weighted-random"}, "steering: STEERING_POLICY_WEIGHTED_RANDOM"},
      {{"--steering=least-outstanding"}, "steering: STEERING_POLICY_LEAST_OUTSTANDING"},
      {{"--steering=lowest-latency"}, "steering: STEERING_POLICY_LOWEST_LATENCY"},
  };
  for (const Case& c : cases) {
    v1::Pool pool;
    absl::Status status = Apply(c.args, &pool);
    ASSERT_TRUE(status.ok()) << c.args[0] << ": " << status;
    v1::Pool expected = FromText(c.expected);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(pool, expected))
        << c.args[0] << "\n got: " << pool.ShortDebugString()
        << "\n want: " << expected.ShortDebugString();
  }
}

TEST(PoolFlagsTest, BadValuesNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  std::vector<Case> cases = {
      {{"--origin=10.0.0.1"}, "--origin: expected ADDR:PORT[,weight=N][,disabled], got '10.0.0.1'"},
      {{"--origin=10.0.0.1:http"}, "--origin: expected a port 1-65535, got 'http'"},
      {{"--origin=10.0.0.1:70000"}, "--origin: expected a port 1-65535, got '70000'"},
      {{"--origin=::1:80"}, "--origin: an IPv6 address needs brackets"},
      {{"--origin=a:80,weight=heavy"}, "--origin: expected weight=N with N >= 0"},
      {{"--origin=a:80,backup"}, "--origin: unknown origin option 'backup'"},
      {{"--minimum-healthy=-1"}, "--minimum-healthy: expected a non-negative integer, got '-1'"},
      {{"--monitor-type=udp"}, "--monitor-type: expected one of http, https, tcp, got 'udp'"},
      {{"--monitor-method=GET /"}, "--monitor-method: expected an HTTP method such as GET"},
      {{"--monitor-header=X-Probe"}, "--monitor-header: expected NAME=VALUE, got 'X-Probe'"},
      {{"--expected-codes=ok"}, "--expected-codes: 'ok' is not a status code, range or class"},
      {{"--interval=often"}, "--interval: expected a duration such as 2000 (milliseconds)"},
      {{"--timeout=-1s"}, "--timeout: expected a duration such as 2000 (milliseconds)"},
      {{"--consecutive-up=x"}, "--consecutive-up: expected a non-negative integer, got 'x'"},
      {{"--consecutive-down=-2"}, "--consecutive-down: expected a non-negative integer"},
      {{"--jitter=lots"}, "--jitter: expected a duration"},
      {{"--follow-redirects=sometimes"}, "--follow-redirects: expected true or false"},
      {{"--allow-insecure=x"}, "--allow-insecure: expected true or false, got 'x'"},
      {{"--steering=round-robin"},
       "--steering: expected one of failover, weighted-random, least-outstanding, "
       "lowest-latency, got 'round-robin'"},
  };
  for (const Case& c : cases) {
    v1::Pool pool;
    absl::Status status = Apply(c.args, &pool);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.args[0];
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.error)) << c.args[0];
  }
}

v1::Pool StoredPool() {
  return FromText(R"pb(
    id: "eu"
    origins { address: "10.0.0.1" port: 80 }
    origins { address: "10.0.0.2" port: 80 }
    minimum_healthy: 1
    monitor {
      path: "/healthz"
      headers { key: "X-Old" value: "1" }
      interval_ms: 5000
    }
    steering: STEERING_POLICY_WEIGHTED_RANDOM
    version: 3
  )pb");
}

TEST(PoolFlagsTest, UpdateChangesOnlyTheFlagsGiven) {
  v1::Pool pool = StoredPool();
  ASSERT_TRUE(Apply({"--timeout=2s", "--minimum-healthy=2"}, &pool).ok());
  v1::Pool expected = StoredPool();
  expected.mutable_monitor()->set_timeout_ms(2000);
  expected.set_minimum_healthy(2);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(pool, expected))
      << pool.ShortDebugString();
}

TEST(PoolFlagsTest, OriginsAndHeadersAreReplaced) {
  v1::Pool pool = StoredPool();
  ASSERT_TRUE(Apply({"--origin=10.0.0.9:81", "--monitor-header="}, &pool).ok());
  ASSERT_EQ(pool.origins_size(), 1);
  EXPECT_EQ(pool.origins(0).address(), "10.0.0.9");
  EXPECT_TRUE(pool.monitor().headers().empty());
}

TEST(PoolFlagsTest, ValidationErrorsNameTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  std::vector<Case> cases = {
      {{"--timeout=6s"}, "--timeout: pool.monitor.timeout_ms: must be below interval_ms"},
      {{"--interval=50ms"}, "--interval: pool.monitor.interval_ms: must be at least 100"},
      {{"--minimum-healthy=3"}, "--minimum-healthy: pool.minimum_healthy: must be between 0 and 2"},
      {{"--consecutive-up=101"}, "--consecutive-up: pool.monitor.consecutive_up"},
      {{"--origin=a:80,weight=5000"}, "--origin: pool.origins[0].weight"},
      {{"--monitor-path=healthz"}, "--monitor-path: pool.monitor.path: must start with '/'"},
      {{"--monitor-host=a b.example"},
       "--monitor-host: pool.monitor.host_header: must be host or host:port"},
      {{"--monitor-header=X-Probe=a\nb"}, "--monitor-header: pool.monitor.headers[X-Probe]"},
  };
  for (const Case& c : cases) {
    v1::Pool pool = StoredPool();
    absl::StatusOr<ParsedArgs> parsed = ParseArgs(c.args, PoolFlagSpecs());
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(ApplyPoolFlags(*parsed, &pool).ok()) << c.args[0];
    absl::Status status = ValidatePoolFromFlags(pool, *parsed);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.args[0];
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.error)) << c.args[0];
  }
}

}  // namespace
}  // namespace anteroom::ctl
