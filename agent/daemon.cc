#include "agent/daemon.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/health/prober.h"
#include "agent/http/http_server.h"
#include "agent/keyring.h"
#include "agent/sync_client.h"
#include "agent/waiting_room_handler.h"
#include "common/admin_http_server.h"
#include "common/clock.h"
#include "common/host_port.h"
#include "common/metrics.h"
#include "common/room_validation.h"
#include "common/secret_file.h"
#include "spdlog/spdlog.h"

namespace anteroom::agent {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<Upstream> ParseHostPort(absl::string_view flag, const std::string& value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Invalid(flag, absl::StrCat("expected host:port, got '", value, "'"));
  }
  Upstream u;
  u.host = std::string(common::StripBrackets(std::string_view(value).substr(0, colon)));
  int port = 0;
  if (!absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return Invalid(flag, absl::StrCat("port must be 1-65535 in '", value, "'"));
  }
  u.port = static_cast<uint16_t>(port);
  return u;
}

std::string DefaultAgentId() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  unsigned char raw[4];
  RAND_bytes(raw, sizeof raw);
  return absl::StrCat(host[0] ? host : "agent", "-",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(raw), 4)));
}

}  // namespace

absl::Status ResolveAgentConfig(v1::AgentConfig& c) {
  if (c.listen().empty()) c.set_listen("0.0.0.0:8080");
  if (c.admin_listen().empty()) c.set_admin_listen("0.0.0.0:8081");
  if (c.mode().empty()) c.set_mode("proxy");
  if (c.mode() != "proxy" && c.mode() != "forward_auth") {
    return Invalid("mode", absl::StrCat("must be proxy or forward_auth, not '", c.mode(), "'"));
  }
  if (c.fail_mode().empty()) c.set_fail_mode("closed");
  if (c.fail_mode() != "closed" && c.fail_mode() != "open") {
    return Invalid("fail-mode", absl::StrCat("must be closed or open, not '", c.fail_mode(), "'"));
  }
  std::set<std::string> pool_ids;
  for (int i = 0; i < c.pools_size(); ++i) {
    if (auto s = common::ValidatePool(c.pools(i)); !s.ok()) {
      return Invalid(absl::StrCat("pools[", i, "]"), s.message());
    }
    if (!pool_ids.insert(c.pools(i).id()).second) {
      return Invalid(absl::StrCat("pools[", i, "]"),
                     absl::StrCat("pool id '", c.pools(i).id(), "' appears twice"));
    }
  }
  // Without a coordinator, the config file is the only source of pools.
  auto check_pool = [&](const std::string& flag, const std::string& id) -> absl::Status {
    if (auto s = common::ValidateId(flag, id); !s.ok()) return s;
    if (c.coordinators().empty() && !pool_ids.count(id)) {
      return Invalid(flag, absl::StrCat("names pool '", id, "', which `pools` does not define"));
    }
    return absl::OkStatus();
  };
  for (const std::string& id : c.upstream_pools()) {
    if (auto s = check_pool("upstream-pools", id); !s.ok()) return s;
  }
  if (!c.upstream_fallback_pool().empty()) {
    if (auto s = check_pool("upstream-fallback-pool", c.upstream_fallback_pool()); !s.ok()) {
      return s;
    }
  }
  if (c.mode() == "proxy" && c.upstream_pools().empty() && c.upstream_fallback_pool().empty()) {
    if (c.default_upstream().empty()) {
      return Invalid("default-upstream", "is required (host:port) unless upstream-pools is set");
    }
  }
  if (!c.default_upstream().empty()) {
    if (auto u = ParseHostPort("default-upstream", c.default_upstream()); !u.ok())
      return u.status();
  }
  if (c.upstream_attempts() == 0) c.set_upstream_attempts(3);
  if (c.upstream_attempts() < 1 || c.upstream_attempts() > 16) {
    return Invalid("upstream-attempts", "must be between 1 and 16");
  }
  if (!c.has_passive_down_after()) c.set_passive_down_after(3);
  if (c.passive_down_after() < 0 || c.passive_down_after() > 1000) {
    return Invalid("passive-down-after", "must be between 0 (off) and 1000");
  }
  for (const std::string& coordinator : c.coordinators()) {
    if (auto u = ParseHostPort("coordinators", coordinator); !u.ok()) return u.status();
  }
  if (c.coordinators().empty() && c.keys_file().empty()) {
    return Invalid("coordinators", "name at least one coordinator, or give --keys-file");
  }
  if (c.sync_interval_ms() == 0) c.set_sync_interval_ms(500);
  if (c.sync_interval_ms() < 50 || c.sync_interval_ms() > 60'000) {
    return Invalid("sync-interval-ms", "must be between 50 and 60000");
  }
  if (c.io_threads() < 0 || c.io_threads() > 256) return Invalid("io-threads", "must be 0-256");
  if (c.max_header_bytes() == 0) c.set_max_header_bytes(16 * 1024);
  if (c.max_header_bytes() < 1024 || c.max_header_bytes() > 1024 * 1024) {
    return Invalid("max-header-bytes", "must be between 1024 and 1048576");
  }
  if (c.max_body_bytes() < 0) return Invalid("max-body-bytes", "must not be negative");
  if (c.idle_timeout_ms() == 0) c.set_idle_timeout_ms(60'000);
  if (c.upstream_timeout_ms() == 0) c.set_upstream_timeout_ms(60'000);
  if (c.idle_timeout_ms() < 0) return Invalid("idle-timeout-ms", "must be positive");
  if (c.upstream_timeout_ms() < 0) return Invalid("upstream-timeout-ms", "must be positive");
  if (c.drain_seconds() == 0) c.set_drain_seconds(10);
  if (c.drain_seconds() < 0 || c.drain_seconds() > 3600) {
    return Invalid("drain-seconds", "must be between 0 and 3600");
  }
  if (c.drain_delay_seconds() < 0 || c.drain_delay_seconds() > 3600) {
    return Invalid("drain-delay-seconds", "must be between 0 and 3600");
  }
  if (c.log_level().empty()) c.set_log_level("info");
  if (c.agent_id().empty()) c.set_agent_id(DefaultAgentId());
  return absl::OkStatus();
}

absl::Status RunAgent(const v1::AgentConfig& config, const std::atomic<bool>& stop) {
  common::SystemClock clock;
  common::MetricsRegistry metrics;
  common::RegisterBuildInfo(metrics, "agent");

  SyncClientOptions sync_options;
  sync_options.coordinators.assign(config.coordinators().begin(), config.coordinators().end());
  sync_options.agent_id = config.agent_id();
  if (!config.sync_token_file().empty()) {
    auto token = common::ReadSecretFile("sync-token-file", config.sync_token_file());
    if (!token.ok()) return token.status();
    sync_options.sync_token = *std::move(token);
  }
  sync_options.sync_interval_ms = config.sync_interval_ms();
  if (config.mode() == "proxy" && !config.default_upstream().empty()) {
    sync_options.default_upstream = *ParseHostPort("default-upstream", config.default_upstream());
  }
  sync_options.static_pools.assign(config.pools().begin(), config.pools().end());
  sync_options.default_pools.assign(config.upstream_pools().begin(), config.upstream_pools().end());
  sync_options.default_fallback_pool = config.upstream_fallback_pool();
  if (!config.keys_file().empty()) {
    auto keys = LoadKeyringFile(config.keys_file());
    if (!keys.ok()) return keys.status();
    sync_options.static_keys = keys->keys();
  }

  AgentState state;
  SyncClient sync(std::move(sync_options), state, clock, metrics);
  WaitingRoomHandler handler(state, clock,
                             {.forward_auth = config.mode() == "forward_auth",
                              .fail_open = config.fail_mode() == "open",
                              .passive_down_after = config.passive_down_after()},
                             metrics);
  Prober prober([&state] { return state.Load()->failover; }, metrics);
  http::HttpServerOptions http_options;
  http_options.listen = config.listen();
  http_options.io_threads = config.io_threads();
  http_options.max_header_bytes = static_cast<size_t>(config.max_header_bytes());
  http_options.max_body_bytes = static_cast<uint64_t>(config.max_body_bytes());
  http_options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms());
  http_options.upstream_timeout = std::chrono::milliseconds(config.upstream_timeout_ms());
  http_options.upstream_attempts = config.upstream_attempts();
  http::HttpServer http(http_options, handler, metrics);

  std::atomic<bool> draining{false};
  common::AdminHttpServer admin({.listen = config.admin_listen()}, metrics, [&] {
    if (draining) return std::make_pair(false, std::string("draining"));
    std::string why;
    if (!sync.Ready(&why)) return std::make_pair(false, why);
    return std::make_pair(true, std::string());
  });

  sync.Start();
  prober.Start();
  auto http_port = http.Start();
  if (!http_port.ok()) {
    sync.Stop(std::chrono::milliseconds(0));
    return http_port.status();
  }
  auto admin_port = admin.Start();
  if (!admin_port.ok()) {
    http.Stop(std::chrono::milliseconds(0));
    sync.Stop(std::chrono::milliseconds(0));
    return admin_port.status();
  }
  spdlog::info("agent {} serving {} on port {}, admin on port {}, {} coordinator shard(s)",
               config.agent_id(), config.mode(), *http_port, *admin_port,
               config.coordinators_size());
  if (!config.ports_file().empty()) {
    const std::string tmp = config.ports_file() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "http=" << *http_port << "\nadmin=" << *admin_port << "\n";
    }
    std::error_code ec;
    std::filesystem::rename(tmp, config.ports_file(), ec);
  }

  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("draining: readiness fails now; closing the listener in {} s",
               config.drain_delay_seconds());
  draining = true;
  for (int64_t i = 0; i < config.drain_delay_seconds() * 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  http.StopAccepting();
  http.Stop(std::chrono::seconds(config.drain_seconds()));
  sync.Stop(std::chrono::seconds(5));
  prober.Stop();
  admin.Stop();
  spdlog::info("stopped");
  return absl::OkStatus();
}

}  // namespace anteroom::agent
