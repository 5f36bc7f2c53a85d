#include "agent/sync_client.h"

#include <grpcpp/grpcpp.h>

#include "agent/token.h"

#include <algorithm>

#include "common/rendezvous_hash.h"
#include "common/room_settings.h"
#include "spdlog/spdlog.h"

namespace anteroom::agent {
namespace {

std::shared_ptr<const RoomRuntime> BuildRuntime(const v1::Room& room, int shard,
                                                std::shared_ptr<RoomCounters> counters) {
  auto runtime = std::make_shared<RoomRuntime>();
  runtime->config = room;
  runtime->cookie_name = CookieName(room);
  runtime->random = common::Method(room) == v1::QUEUEING_METHOD_RANDOM;
  runtime->shard = shard;
  runtime->counters = std::move(counters);
  if (auto bypass = BypassRules::Compile(room); bypass.ok()) {
    runtime->bypass = *std::move(bypass);
  } else {
    spdlog::error("room {}: {}; bypass rules ignored", room.id(), bypass.status().ToString());
  }
  auto pages = WaitingPages::ForRoom(room);
  if (!pages.ok()) {
    // Never serve a broken page: fall back to the built-in one and say why.
    spdlog::error("room {}: {}; serving the built-in page", room.id(), pages.status().ToString());
    v1::Room plain = room;
    plain.mutable_page()->clear_custom_html();
    plain.mutable_event()->mutable_overrides()->mutable_page()->clear_custom_html();
    pages = WaitingPages::ForRoom(plain);
  }
  if (pages.ok()) runtime->pages = *std::move(pages);
  return runtime;
}

}  // namespace

struct SyncClient::Shard {
  int index = 0;
  std::string address;
  std::unique_ptr<v1::Coordinator::Stub> stub;
  std::thread thread;
  uint64_t next_seq = 1;
  std::optional<v1::SyncRequest> pending;  // Sent, not yet answered: resent as is.
  int64_t config_generation = 0;
  int64_t keys_generation = 0;
  std::vector<std::string> room_ids;  // Rooms this shard owns, per its last config.
  std::vector<v1::Pool> pools;        // Pools this shard sent with its last config.
  // The last reply named rooms it sent no view of (new to this agent): Sync again at once,
  // so that their first users are not decided without one.
  bool views_missing = false;
  std::atomic<int64_t> last_success_local_ms{0};
  // The last Sync was refused for its token (logged once per refusal spell; read by Ready).
  std::atomic<bool> refused_auth{false};
  // The Sync in flight, so that Stop can cancel one that waits for a connection.
  std::mutex call_mu;
  grpc::ClientContext* call = nullptr;  // Guarded by call_mu.
};

SyncClient::SyncClient(SyncClientOptions options, AgentState& state, const common::Clock& clock,
                       common::MetricsRegistry& metrics)
    : options_(std::move(options)),
      authorization_(options_.sync_token.empty() ? "" : "Bearer " + options_.sync_token),
      state_(state),
      clock_(clock) {
  for (size_t i = 0; i < options_.coordinators.size(); ++i) {
    auto shard = std::make_unique<Shard>();
    shard->index = static_cast<int>(i);
    shard->address = options_.coordinators[i];
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    shard->stub = v1::Coordinator::NewStub(
        grpc::CreateCustomChannel(shard->address, grpc::InsecureChannelCredentials(), args));
    shards_.push_back(std::move(shard));
  }
  for (const v1::SigningKey& k : options_.static_keys) keys_[k.id()] = k;
  syncs_ok_ = metrics.RegisterCounter("anteroom_agent_syncs_total", "Sync calls by result.",
                                      {{"result", "ok"}});
  syncs_failed_ = metrics.RegisterCounter("anteroom_agent_syncs_total", "Sync calls by result.",
                                          {{"result", "failed"}});
  sync_seconds_ = metrics.RegisterHistogram(
      "anteroom_agent_sync_duration_seconds", "Sync round trips.",
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  reachable_gauge_ = metrics.RegisterGauge(
      "anteroom_agent_coordinator_reachable",
      "1 while every coordinator shard answered within three ticks; 0 runs on the fail mode.");
  offset_gauge_ = metrics.RegisterGauge("anteroom_agent_clock_offset_seconds",
                                        "Coordinator time minus local time.");
  std::lock_guard lock(mu_);
  RebuildFailover();
  Publish();
}

void SyncClient::RebuildFailover() {
  std::vector<v1::Pool> pools;
  for (const auto& shard : shards_) {
    pools.insert(pools.end(), shard->pools.begin(), shard->pools.end());
  }
  pools.insert(pools.end(), options_.static_pools.begin(), options_.static_pools.end());
  failover_ = FailoverTable::Build(pools, failover_.get());
}

SyncClient::~SyncClient() { Stop(std::chrono::milliseconds(0)); }

void SyncClient::Start() {
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->thread = std::thread([this, s] { Run(*s); });
  }
}

void SyncClient::Stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) return;
  for (auto& shard : shards_) {
    {
      // A Sync may be waiting for a coordinator that is down: stop waiting now.
      std::lock_guard lock(shard->call_mu);
      if (shard->call != nullptr) shard->call->TryCancel();
    }
    if (shard->thread.joinable()) shard->thread.join();
  }
  if (grace.count() <= 0) return;
  // Last Syncs: hand back unspent budget and report what was counted since the last tick.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& shard : shards_) {
    while (std::chrono::steady_clock::now() < deadline) {
      // Flush a stuck one first. Each call waits for a connection, but not past the grace.
      if (shard->pending && SendOnce(*shard, false, deadline)) continue;
      if (SendOnce(*shard, true, deadline)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

bool SyncClient::Ready(std::string* why) const {
  const int64_t now = clock_.NowMs();
  for (const auto& shard : shards_) {
    if (now - shard->last_success_local_ms.load() > 3 * options_.sync_interval_ms) {
      *why =
          "coordinator shard " + std::to_string(shard->index) + " (" + shard->address +
          (shard->refused_auth ? ") refuses our Sync token (--sync-token-file)" : ") unreachable") +
          ": rooms run on their fail mode";
      return false;
    }
  }
  std::lock_guard lock(mu_);
  if (keys_.empty()) {
    *why = "no signing keys yet";
    return false;
  }
  return true;
}

void SyncClient::Run(Shard& shard) {
  bool was_reachable = true;
  while (!stopping_) {
    const auto start = std::chrono::steady_clock::now();
    const bool ok = SendOnce(shard, false);
    if (ok && shard.views_missing) continue;
    const bool reachable =
        clock_.NowMs() - shard.last_success_local_ms.load() <= 3 * options_.sync_interval_ms;
    if (reachable != was_reachable) {
      spdlog::warn("coordinator shard {} ({}) is {}", shard.index, shard.address,
                   reachable ? "reachable again" : "unreachable: rooms run on their fail mode");
      std::lock_guard lock(mu_);
      Publish();
      was_reachable = reachable;
    }
    // Wait for the next tick, or less when a room has eligible users and no budget left.
    const auto tick = std::chrono::milliseconds(options_.sync_interval_ms);
    const auto earliest = start + std::chrono::milliseconds(ok ? 100 : 250);
    while (!stopping_ && std::chrono::steady_clock::now() < start + tick) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (std::chrono::steady_clock::now() < earliest) continue;
      bool starved = false;
      {
        std::lock_guard lock(mu_);
        for (const std::string& id : shard.room_ids) {
          auto it = counters_.find(id);
          if (it != counters_.end() && it->second->Starved()) starved = true;
        }
      }
      if (starved) break;
    }
  }
}

v1::SyncRequest SyncClient::BuildRequest(Shard& shard, bool final) {
  v1::SyncRequest req;
  req.set_agent_id(options_.agent_id);
  req.set_seq(shard.next_seq++);
  req.set_config_generation(shard.config_generation);
  req.set_keys_generation(shard.keys_generation);
  req.set_final(final);
  std::lock_guard lock(mu_);
  for (const std::string& id : shard.room_ids) {
    v1::RoomReport* report = req.add_rooms();
    report->set_room_id(id);
    std::shared_ptr<RoomCounters> counters = CountersFor(id);
    counters->Drain(report, clock_.NowMs() + clock_offset_ms_);
    report->set_budget_unspent(counters->Surrender());
  }
  // What this agent sees of every origin it has probed, for the coordinator's verdicts.
  for (const auto& pool : failover_->pools()) {
    for (const auto& origin : pool->origins) {
      if (!origin->enabled || origin->probes.load(std::memory_order_relaxed) == 0) continue;
      v1::OriginObservation* o = req.add_health();
      o->set_pool_id(origin->pool_id);
      o->set_origin(origin->key);
      o->set_healthy(origin->up.load(std::memory_order_relaxed));
      o->set_latency_us(origin->probe_latency_us.load(std::memory_order_relaxed));
      if (!o->healthy()) {
        o->set_reason(OriginFailureText(
            static_cast<OriginFailure>(origin->last_failure.load(std::memory_order_relaxed)),
            origin->last_status.load(std::memory_order_relaxed)));
      }
    }
  }
  return req;
}

bool SyncClient::SendOnce(Shard& shard, bool final,
                          std::chrono::steady_clock::time_point not_after) {
  auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::milliseconds(std::max<int64_t>(1000, 4 * options_.sync_interval_ms)));
  if (not_after != std::chrono::steady_clock::time_point::max()) {
    timeout = std::min(timeout, not_after - std::chrono::steady_clock::now());
    if (timeout <= timeout.zero()) return false;
  }
  if (!shard.pending) shard.pending = BuildRequest(shard, final);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  // Wait for a connection rather than fail fast while the channel reconnects. A blocking call
  // that fails fast leaves nobody polling the channel's connection attempts: gRPC then notices
  // them only on its 5 s backup poll, so an agent found a restarted coordinator 5-10 s late.
  ctx.set_wait_for_ready(true);
  if (!authorization_.empty()) ctx.AddMetadata("authorization", authorization_);
  v1::SyncResponse reply;
  const int64_t sent = clock_.NowMs();
  const auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(shard.call_mu);
    shard.call = &ctx;
  }
  grpc::Status status = shard.stub->Sync(&ctx, *shard.pending, &reply);
  {
    std::lock_guard lock(shard.call_mu);
    shard.call = nullptr;
  }
  sync_seconds_->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (status.ok()) {
    syncs_ok_->Increment();
    shard.pending.reset();
    shard.refused_auth = false;
    shard.last_success_local_ms = clock_.NowMs();
    ApplyReply(shard, reply, sent, clock_.NowMs());
    return true;
  }
  syncs_failed_->Increment();
  const bool auth_refused = status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                            status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  if (auth_refused && !shard.refused_auth) {
    // Kept and resent like any failed Sync, so no counts are lost while the tokens disagree.
    spdlog::error("coordinator shard {} refused the Sync token ({}); check --sync-token-file",
                  shard.index, status.error_message());
  }
  shard.refused_auth = auth_refused;
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
      status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    // The coordinator will never accept this one (a room it does not own or no longer has):
    // drop it and ask for the current configuration with the next.
    spdlog::error("coordinator shard {} refused a Sync: {}", shard.index, status.error_message());
    shard.pending.reset();
    shard.config_generation = -1;
  }
  return false;
}

void SyncClient::ApplyReply(Shard& shard, const v1::SyncResponse& reply, int64_t sent_local_ms,
                            int64_t received_local_ms) {
  std::lock_guard lock(mu_);
  // Coordinator time at our midpoint of the round trip. A round trip that waited for a
  // connection has no meaningful midpoint: keep the last offset unless there is none yet.
  if (!offset_measured_ || received_local_ms - sent_local_ms <= options_.sync_interval_ms) {
    clock_offset_ms_ = reply.coordinator_time_ms() - (sent_local_ms + received_local_ms) / 2;
    offset_error_ms_ = (received_local_ms - sent_local_ms + 1) / 2;
    offset_gauge_->Set(static_cast<double>(clock_offset_ms_) / 1000.0);
    offset_measured_ = true;
  }
  if (reply.config_changed()) {
    shard.config_generation = reply.config_generation();
    std::vector<std::string> ids;
    for (const v1::Room& room : reply.room_configs()) {
      ids.push_back(room.id());
      RoomEntry& entry = rooms_[room.id()];
      if (!entry.runtime || entry.runtime->config.version() != room.version() ||
          entry.runtime->config.updated_unix() != room.updated_unix()) {
        entry.runtime = BuildRuntime(room, shard.index, CountersFor(room.id()));
      }
    }
    // Rooms this shard no longer has are gone.
    for (const std::string& old : shard.room_ids) {
      if (std::find(ids.begin(), ids.end(), old) == ids.end()) {
        rooms_.erase(old);
        counters_.erase(old);
      }
    }
    shard.room_ids = std::move(ids);
    shard.pools.assign(reply.pools().begin(), reply.pools().end());
    RebuildFailover();
  }
  if (reply.keys_changed()) {
    shard.keys_generation = reply.keys_generation();
    for (const v1::SigningKey& key : reply.keys()) keys_[key.id()] = key;
  }
  for (const v1::RoomView& view : reply.rooms()) {
    auto it = rooms_.find(view.room_id());
    if (it == rooms_.end()) continue;
    it->second.view = std::make_shared<const v1::RoomView>(view);
    // Stop spending as early as our clock may be behind the coordinator's: the rate window
    // counts on budget being spent within its lease.
    it->second.runtime->counters->Grant(view.budget(), view.lease_expiry_ms() - offset_error_ms_);
    it->second.runtime->counters->MergeRevocations(view, clock_.NowMs() + clock_offset_ms_);
  }
  shard.views_missing = false;
  for (const std::string& id : shard.room_ids) {
    auto it = rooms_.find(id);
    if (it != rooms_.end() && !it->second.view) shard.views_missing = true;
  }
  Publish();
}

std::shared_ptr<RoomCounters> SyncClient::CountersFor(const std::string& room_id) {
  std::shared_ptr<RoomCounters>& c = counters_[room_id];
  if (!c) c = std::make_shared<RoomCounters>();
  return c;
}

void SyncClient::Publish() {
  auto snap = std::make_shared<AgentSnapshot>();
  std::vector<v1::Room> configs;
  for (const auto& [id, entry] : rooms_) {
    if (!entry.runtime) continue;
    snap->rooms.push_back(entry.runtime);
    snap->views.push_back(entry.view);
    configs.push_back(entry.runtime->config);
  }
  snap->routes = std::make_shared<const RouteTable>(configs);
  if (!keys_.empty()) {
    std::vector<v1::SigningKey> keys;
    for (const auto& [id, key] : keys_) keys.push_back(key);
    if (auto keyring = Keyring::Make(std::move(keys)); keyring.ok()) {
      snap->keyring = std::make_shared<const Keyring>(*std::move(keyring));
    } else {
      spdlog::error("signing keys unusable: {}", keyring.status().ToString());
    }
  }
  snap->clock_offset_ms = clock_offset_ms_;
  const int64_t now = clock_.NowMs();
  bool all = true;
  for (const auto& shard : shards_) {
    const bool ok = now - shard->last_success_local_ms.load() <= 3 * options_.sync_interval_ms;
    snap->shard_reachable.push_back(ok);
    all = all && ok;
  }
  reachable_gauge_->Set(all ? 1 : 0);
  snap->default_upstream = options_.default_upstream;
  snap->failover = failover_;
  snap->default_pools = failover_->Order(options_.default_pools, options_.default_fallback_pool);
  for (const auto& room : snap->rooms) {
    const v1::Room& config = room->config;
    snap->room_pools.push_back(
        failover_->Order(std::vector<std::string>(config.pools().begin(), config.pools().end()),
                         config.fallback_pool()));
  }
  state_.Store(std::move(snap));
}

}  // namespace anteroom::agent
