#include "ctl/pool_output.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/host_port.h"
#include "ctl/table.h"

namespace anteroom::ctl {
namespace {

// Defaults as documented in pool.proto.
constexpr int64_t kDefaultIntervalMs = 2000;
constexpr int64_t kDefaultTimeoutMs = 1000;
constexpr int32_t kDefaultConsecutiveUp = 2;
constexpr int32_t kDefaultConsecutiveDown = 3;

std::string OrDefault(const std::string& value, const std::string& fallback) {
  return value.empty() ? absl::StrCat(fallback, " (default)") : value;
}

std::string OrDefault(int64_t value, int64_t fallback, absl::string_view unit = "") {
  return value == 0 ? absl::StrCat(fallback, unit, " (default)") : absl::StrCat(value, unit);
}

std::string OriginAddress(const v1::Origin& origin) {
  return common::JoinHostPort(origin.address(), origin.port());
}

std::string MonitorType(const v1::Monitor& monitor) {
  if (monitor.type() == v1::MONITOR_TYPE_UNSPECIFIED) return "http (default)";
  return EnumWord(v1::MonitorType_Name(monitor.type()), "MONITOR_TYPE_");
}

std::string Steering(const v1::Pool& pool) {
  if (pool.steering() == v1::STEERING_POLICY_UNSPECIFIED) return "failover (default)";
  return EnumWord(v1::SteeringPolicy_Name(pool.steering()), "STEERING_POLICY_");
}

std::string Headers(const v1::Monitor& monitor) {
  if (monitor.headers().empty()) return "-";
  // A protobuf map iterates in no fixed order; sort for stable output.
  std::map<std::string, std::string> sorted(monitor.headers().begin(), monitor.headers().end());
  return absl::StrJoin(sorted, ", ", absl::PairFormatter("="));
}

}  // namespace

void PrintPool(const v1::Pool& pool, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ToJson(pool) << '\n';
    return;
  }
  const v1::Monitor& m = pool.monitor();
  Table table;
  table.AddRow({"id:", pool.id()});
  table.AddRow({"minimum healthy:", OrDefault(pool.minimum_healthy(), 1)});
  table.AddRow({"steering:", Steering(pool)});
  table.AddRow({"monitor type:", MonitorType(m)});
  table.AddRow({"monitor method:", OrDefault(m.method(), "GET")});
  table.AddRow({"monitor path:", OrDefault(m.path(), "/")});
  table.AddRow({"monitor host:", OrDefault(m.host_header(), "origin address")});
  table.AddRow({"monitor headers:", Headers(m)});
  table.AddRow({"expected codes:", OrDefault(m.expected_codes(), "2xx")});
  table.AddRow({"expected body:", m.expected_body().empty() ? "-" : m.expected_body()});
  table.AddRow({"interval:", OrDefault(m.interval_ms(), kDefaultIntervalMs, "ms")});
  table.AddRow({"timeout:", OrDefault(m.timeout_ms(), kDefaultTimeoutMs, "ms")});
  table.AddRow({"jitter:", m.jitter_ms() == 0 ? "10% of interval (default)"
                                              : absl::StrCat(m.jitter_ms(), "ms")});
  table.AddRow({"consecutive up:", OrDefault(m.consecutive_up(), kDefaultConsecutiveUp)});
  table.AddRow({"consecutive down:", OrDefault(m.consecutive_down(), kDefaultConsecutiveDown)});
  table.AddRow({"follow redirects:", YesNo(m.follow_redirects())});
  table.AddRow({"allow insecure:", YesNo(m.allow_insecure())});
  table.AddRow({"version:", absl::StrCat(pool.version())});
  table.Render(out);

  out << '\n';
  Table origins({"ORIGIN", "NAME", "WEIGHT", "ENABLED"});
  for (const v1::Origin& origin : pool.origins()) {
    origins.AddRow({OriginAddress(origin), origin.name().empty() ? "-" : origin.name(),
                    absl::StrCat(origin.weight() == 0 ? 1 : origin.weight()),
                    YesNo(!origin.has_enabled() || origin.enabled())});
  }
  origins.Render(out);
}

void PrintPools(const std::vector<v1::Pool>& pools, OutputFormat format, std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ToJsonArray(pools) << '\n';
    return;
  }
  Table table({"ID", "ORIGINS", "MIN HEALTHY", "MONITOR", "STEERING", "VERSION"});
  for (const v1::Pool& pool : pools) {
    std::string origins = absl::StrJoin(
        pool.origins(), ",",
        [](std::string* out, const v1::Origin& origin) { out->append(OriginAddress(origin)); });
    table.AddRow({pool.id(), origins,
                  absl::StrCat(pool.minimum_healthy() ? pool.minimum_healthy() : 1),
                  MonitorType(pool.monitor()), Steering(pool), absl::StrCat(pool.version())});
  }
  table.Render(out);
}

void PrintOriginHealth(const std::vector<v1::OriginVerdict>& verdicts, OutputFormat format,
                       std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ToJsonArray(verdicts) << '\n';
    return;
  }
  if (verdicts.empty()) {
    out << "no origin health reported yet\n";
    return;
  }
  Table table({"POOL", "ORIGIN", "VERDICT", "AGENTS UP", "AGENTS DOWN", "UPDATED"});
  for (const v1::OriginVerdict& v : verdicts) {
    table.AddRow({v.pool_id(), v.origin(), v.healthy() ? "up" : "down", absl::StrCat(v.agents_up()),
                  absl::StrCat(v.agents_down()), FormatUnixMillis(v.updated_ms())});
  }
  table.Render(out);
}

}  // namespace anteroom::ctl
