// The agent's configuration checks: defaults, and a clear error naming the setting for every
// bad value, with pools declared in the file for a sidecar without a coordinator.

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "agent/daemon.h"
#include "common/yaml_proto.h"

namespace anteroom::agent {
namespace {

constexpr const char* kSidecar = R"(
keys_file: /etc/anteroom/keys.yaml
pools:
  - id: app
    origins:
      - {address: 127.0.0.1, port: 9001}
      - {address: 127.0.0.1, port: 9002, weight: 2}
    monitor: {path: /health, interval_ms: 500, timeout_ms: 400}
  - id: sorry
    origins: [{address: 127.0.0.1, port: 9100}]
)";
constexpr const char* kRouting = "upstream_pools: [app]\nupstream_fallback_pool: sorry\n";

absl::StatusOr<v1::AgentConfig> Resolve(const std::string& yaml) {
  v1::AgentConfig config;
  if (auto s = common::ParseYamlInto(yaml, "agent.yaml", &config); !s.ok()) return s;
  if (auto s = ResolveAgentConfig(config); !s.ok()) return s;
  return config;
}

TEST(AgentConfigTest, ASidecarWithPoolsNeedsNoDefaultUpstream) {
  auto config = Resolve(std::string(kSidecar) + kRouting);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream_attempts(), 3);
  EXPECT_EQ(config->passive_down_after(), 3);
}

TEST(AgentConfigTest, PassiveChecksCanBeTurnedOff) {
  auto config = Resolve(std::string(kSidecar) + kRouting + "passive_down_after: 0\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->passive_down_after(), 0);
}

struct BadCase {
  const char* name;
  std::string yaml;
  const char* expected;  // In the error message.
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class AgentConfigBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(AgentConfigBadTest, IsRefusedNamingTheSetting) {
  auto config = Resolve(GetParam().yaml);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find(GetParam().expected), std::string::npos)
      << config.status();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AgentConfigBadTest,
    ::testing::Values(
        BadCase{"UnknownUpstreamPool", std::string(kSidecar) + "upstream_pools: [nope]\n",
                "upstream-pools"},
        BadCase{"UnknownFallback",
                std::string(kSidecar) + "upstream_pools: [app]\nupstream_fallback_pool: gone\n",
                "upstream-fallback-pool"},
        BadCase{"NoUpstreamAtAll", "keys_file: k.yaml\n", "default-upstream"},
        BadCase{"AttemptsTooMany", std::string(kSidecar) + kRouting + "upstream_attempts: 99\n",
                "upstream-attempts"},
        BadCase{"PassiveNegative", std::string(kSidecar) + kRouting + "passive_down_after: -1\n",
                "passive-down-after"},
        BadCase{"DuplicatePool",
                "keys_file: k.yaml\ndefault_upstream: 127.0.0.1:1\npools:\n"
                "  - {id: a, origins: [{address: 127.0.0.1, port: 1}]}\n"
                "  - {id: a, origins: [{address: 127.0.0.1, port: 2}]}\n",
                "appears twice"},
        BadCase{"TimeoutAboveInterval",
                "keys_file: k.yaml\ndefault_upstream: 127.0.0.1:1\npools:\n"
                "  - {id: a, origins: [{address: 127.0.0.1, port: 1}],"
                " monitor: {interval_ms: 500, timeout_ms: 900}}\n",
                "pool.monitor.timeout_ms"},
        BadCase{"BadExpectedCodes",
                "keys_file: k.yaml\ndefault_upstream: 127.0.0.1:1\npools:\n"
                "  - {id: a, origins: [{address: 127.0.0.1, port: 1}],"
                " monitor: {expected_codes: 2xy}}\n",
                "expected_codes"},
        BadCase{"BadPort",
                "keys_file: k.yaml\ndefault_upstream: 127.0.0.1:1\npools:\n"
                "  - {id: a, origins: [{address: 127.0.0.1, port: 70000}]}\n",
                "pools[0]"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace anteroom::agent
