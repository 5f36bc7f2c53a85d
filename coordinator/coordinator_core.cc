#include "coordinator/coordinator_core.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/rendezvous_hash.h"
#include "common/room_settings.h"

namespace anteroom::coordinator {
namespace {

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // OpenSSL's CSPRNG does not fail once seeded; if it ever does, refuse to make weak keys.
    std::abort();
  }
  return out;
}

}  // namespace

CoordinatorCore::CoordinatorCore(CoreOptions options) : options_(options) {}

void CoordinatorCore::Reset(StoredState state, int64_t now_ms, StoreBatch& batch) {
  config_generation_ = state.config_generation;
  keys_generation_ = state.keys_generation;
  rooms_.clear();
  for (auto& [id, room] : state.rooms) {
    RoomState rs;
    if (auto it = state.room_states.find(id); it != state.room_states.end())
      rs = std::move(it->second);
    rooms_[id] = std::make_unique<RoomEngine>(std::move(room), std::move(rs), options_.engine);
  }
  pools_ = std::move(state.pools);
  agents_ = std::move(state.agents);
  keys_ = std::move(state.keys);
  touched_.clear();
  health_.clear();
  if (keys_.empty()) AddKey(now_ms, batch);
}

absl::Status CoordinatorCore::CheckOwner(const std::string& room_id) const {
  const int owner = common::OwnerShard(room_id, options_.shard_count);
  if (owner != options_.shard_index) {
    return absl::FailedPreconditionError(absl::StrCat("room '", room_id, "' is owned by shard ",
                                                      owner, "; this is shard ",
                                                      options_.shard_index));
  }
  return absl::OkStatus();
}

RoomEngine* CoordinatorCore::FindRoom(const std::string& id) {
  auto it = rooms_.find(id);
  return it == rooms_.end() ? nullptr : it->second.get();
}

absl::Status CoordinatorCore::ApplySync(const v1::SyncRequest& request, int64_t now_ms,
                                        v1::SyncResponse* response, StoreBatch& batch) {
  auto agent_it = agents_.find(request.agent_id());
  if (agent_it != agents_.end()) {
    const uint64_t last = agent_it->second.last_seq();
    if (request.seq() == last) {
      // A retry whose effects are already applied: answer from the current state without
      // applying anything again. The agent's leases still hold what the first answer granted.
      for (const v1::RoomReport& report : request.rooms()) {
        if (!CheckOwner(report.room_id()).ok()) continue;
        if (RoomEngine* engine = FindRoom(report.room_id())) {
          engine->ViewFor(request.agent_id(), now_ms, response->add_rooms());
          touched_.insert(report.room_id());
        }
      }
      FillReplyTail(request, now_ms, response);
      return absl::OkStatus();
    }
    if (request.seq() < last) {
      return absl::FailedPreconditionError(absl::StrCat(
          "seq: ", request.seq(), " is older than the last applied seq ", last, " of this agent"));
    }
  }

  // Check everything before changing anything.
  const bool config_current = request.config_generation() == config_generation_;
  std::vector<std::pair<const v1::RoomReport*, RoomEngine*>> targets;
  targets.reserve(request.rooms_size());
  for (int i = 0; i < request.rooms_size(); ++i) {
    const v1::RoomReport& report = request.rooms(i);
    if (auto s = CheckOwner(report.room_id()); !s.ok()) return s;
    RoomEngine* engine = FindRoom(report.room_id());
    if (engine == nullptr) {
      if (config_current) {
        return absl::InvalidArgumentError(
            absl::StrCat("rooms[", i, "].room_id: unknown room '", report.room_id(), "'"));
      }
      continue;  // Deleted since the agent's config: the reply below brings the new set.
    }
    targets.emplace_back(&report, engine);
  }

  for (auto& [report, engine] : targets) {
    engine->Apply(request.agent_id(), *report, request.final(), now_ms, response->add_rooms());
    touched_.insert(report->room_id());
  }
  for (const v1::OriginObservation& o : request.health()) {
    health_[{o.pool_id(), o.origin()}][request.agent_id()] = {o.healthy(), o.latency_us(), now_ms};
  }
  FillReplyTail(request, now_ms, response);

  v1::AgentRecord& record = agents_[request.agent_id()];
  record.set_last_seq(request.seq());
  record.set_last_sync_ms(now_ms);
  batch.PutAgent(request.agent_id(), record);
  return absl::OkStatus();
}

void CoordinatorCore::FillReplyTail(const v1::SyncRequest& request, int64_t now_ms,
                                    v1::SyncResponse* response) const {
  if (request.config_generation() != config_generation_) {
    response->set_config_changed(true);
    for (const auto& [id, engine] : rooms_) *response->add_room_configs() = engine->config();
    for (const auto& [id, pool] : pools_) *response->add_pools() = pool;
  }
  response->set_config_generation(config_generation_);
  if (request.keys_generation() != keys_generation_) {
    response->set_keys_changed(true);
    for (const auto& [id, key] : keys_) *response->add_keys() = key;
  }
  response->set_keys_generation(keys_generation_);
  if (!request.health().empty()) {
    for (v1::OriginVerdict& v : OriginHealth("", now_ms)) *response->add_health() = std::move(v);
  }
  response->set_coordinator_time_ms(now_ms);
  response->set_seq(request.seq());
  response->set_sync_interval_ms(options_.sync_interval_ms);
}

void CoordinatorCore::BumpConfig(StoreBatch& batch) {
  ++config_generation_;
  batch.PutGenerations(config_generation_, keys_generation_);
}

absl::StatusOr<v1::Room> CoordinatorCore::CreateRoom(v1::Room room, int64_t now_ms,
                                                     StoreBatch& batch) {
  if (auto s = CheckOwner(room.id()); !s.ok()) return s;
  if (rooms_.count(room.id())) {
    return absl::AlreadyExistsError(absl::StrCat("room '", room.id(), "' already exists"));
  }
  for (int i = 0; i < room.pools_size(); ++i) {
    if (!pools_.count(room.pools(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("room.pools[", i, "]: unknown pool '", room.pools(i), "'"));
    }
  }
  if (!room.fallback_pool().empty() && !pools_.count(room.fallback_pool())) {
    return absl::InvalidArgumentError(
        absl::StrCat("room.fallback_pool: unknown pool '", room.fallback_pool(), "'"));
  }
  room.set_version(1);
  room.set_created_unix(now_ms / 1000);
  room.set_updated_unix(now_ms / 1000);
  batch.PutRoomConfig(room);
  rooms_[room.id()] = std::make_unique<RoomEngine>(room, RoomState{}, options_.engine);
  touched_.insert(room.id());
  BumpConfig(batch);
  return room;
}

absl::StatusOr<v1::Room> CoordinatorCore::UpdateRoom(v1::Room room, int64_t expected_version,
                                                     int64_t now_ms, StoreBatch& batch) {
  if (auto s = CheckOwner(room.id()); !s.ok()) return s;
  RoomEngine* engine = FindRoom(room.id());
  if (engine == nullptr)
    return absl::NotFoundError(absl::StrCat("room '", room.id(), "' not found"));
  const v1::Room& old = engine->config();
  if (expected_version != 0 && expected_version != old.version()) {
    return absl::AbortedError(absl::StrCat("room '", room.id(), "' is at version ", old.version(),
                                           ", not ", expected_version, ": read it again"));
  }
  for (int i = 0; i < room.pools_size(); ++i) {
    if (!pools_.count(room.pools(i))) {
      return absl::InvalidArgumentError(
          absl::StrCat("room.pools[", i, "]: unknown pool '", room.pools(i), "'"));
    }
  }
  if (!room.fallback_pool().empty() && !pools_.count(room.fallback_pool())) {
    return absl::InvalidArgumentError(
        absl::StrCat("room.fallback_pool: unknown pool '", room.fallback_pool(), "'"));
  }
  room.set_version(old.version() + 1);
  room.set_created_unix(old.created_unix());
  room.set_updated_unix(now_ms / 1000);
  batch.PutRoomConfig(room);
  engine->SetConfig(room);
  BumpConfig(batch);
  return room;
}

absl::Status CoordinatorCore::DeleteRoom(const std::string& id, StoreBatch& batch) {
  if (auto s = CheckOwner(id); !s.ok()) return s;
  if (!rooms_.erase(id)) return absl::NotFoundError(absl::StrCat("room '", id, "' not found"));
  touched_.erase(id);
  batch.DeleteRoom(id);
  BumpConfig(batch);
  return absl::OkStatus();
}

absl::StatusOr<v1::Room> CoordinatorCore::GetRoom(const std::string& id) const {
  if (auto s = CheckOwner(id); !s.ok()) return s;
  auto it = rooms_.find(id);
  if (it == rooms_.end()) return absl::NotFoundError(absl::StrCat("room '", id, "' not found"));
  return it->second->config();
}

std::vector<v1::Room> CoordinatorCore::ListRooms() const {
  std::vector<v1::Room> out;
  out.reserve(rooms_.size());
  for (const auto& [id, engine] : rooms_) out.push_back(engine->config());
  return out;
}

absl::StatusOr<v1::RoomStatus> CoordinatorCore::RoomStatus(const std::string& id, int64_t now_ms) {
  if (auto s = CheckOwner(id); !s.ok()) return s;
  RoomEngine* engine = FindRoom(id);
  if (engine == nullptr) return absl::NotFoundError(absl::StrCat("room '", id, "' not found"));
  touched_.insert(id);
  return engine->Status(now_ms);
}

absl::StatusOr<v1::Pool> CoordinatorCore::CreatePool(v1::Pool pool, StoreBatch& batch) {
  if (pools_.count(pool.id())) {
    return absl::AlreadyExistsError(absl::StrCat("pool '", pool.id(), "' already exists"));
  }
  pool.set_version(1);
  batch.PutPool(pool);
  pools_[pool.id()] = pool;
  BumpConfig(batch);
  return pool;
}

absl::StatusOr<v1::Pool> CoordinatorCore::UpdatePool(v1::Pool pool, int64_t expected_version,
                                                     StoreBatch& batch) {
  auto it = pools_.find(pool.id());
  if (it == pools_.end())
    return absl::NotFoundError(absl::StrCat("pool '", pool.id(), "' not found"));
  if (expected_version != 0 && expected_version != it->second.version()) {
    return absl::AbortedError(absl::StrCat("pool '", pool.id(), "' is at version ",
                                           it->second.version(), ", not ", expected_version));
  }
  pool.set_version(it->second.version() + 1);
  batch.PutPool(pool);
  it->second = pool;
  BumpConfig(batch);
  return pool;
}

absl::Status CoordinatorCore::DeletePool(const std::string& id, StoreBatch& batch) {
  if (!pools_.count(id)) return absl::NotFoundError(absl::StrCat("pool '", id, "' not found"));
  for (const auto& [room_id, engine] : rooms_) {
    const v1::Room& r = engine->config();
    if (r.fallback_pool() == id ||
        std::find(r.pools().begin(), r.pools().end(), id) != r.pools().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("pool '", id, "' is used by room '", room_id, "'"));
    }
  }
  pools_.erase(id);
  batch.DeletePool(id);
  BumpConfig(batch);
  return absl::OkStatus();
}

absl::StatusOr<v1::Pool> CoordinatorCore::GetPool(const std::string& id) const {
  auto it = pools_.find(id);
  if (it == pools_.end()) return absl::NotFoundError(absl::StrCat("pool '", id, "' not found"));
  return it->second;
}

std::vector<v1::Pool> CoordinatorCore::ListPools() const {
  std::vector<v1::Pool> out;
  for (const auto& [id, pool] : pools_) out.push_back(pool);
  return out;
}

std::vector<v1::OriginVerdict> CoordinatorCore::OriginHealth(const std::string& pool_id,
                                                             int64_t now_ms) const {
  std::vector<v1::OriginVerdict> out;
  for (const auto& [key, reports] : health_) {
    if (!pool_id.empty() && key.first != pool_id) continue;
    v1::OriginVerdict v;
    v.set_pool_id(key.first);
    v.set_origin(key.second);
    int up = 0, down = 0;
    int64_t updated = 0;
    for (const auto& [agent, r] : reports) {
      if (r.at_ms + options_.health_report_ttl_ms < now_ms) continue;
      (r.healthy ? up : down)++;
      updated = std::max(updated, r.at_ms);
    }
    if (up + down == 0) continue;
    v.set_agents_up(up);
    v.set_agents_down(down);
    v.set_healthy(up >= down);  // A tie keeps the origin: failing over on half a view flaps.
    v.set_updated_ms(updated);
    out.push_back(std::move(v));
  }
  return out;
}

int64_t CoordinatorCore::LongestSessionSeconds() const {
  int64_t longest = common::kDefaultSessionSeconds;
  for (const auto& [id, engine] : rooms_) {
    longest = std::max(longest, common::SessionSeconds(engine->config()));
    const auto& o = engine->config().event().overrides();
    if (o.has_session_duration_seconds()) longest = std::max(longest, o.session_duration_seconds());
  }
  return longest;
}

void CoordinatorCore::AddKey(int64_t now_ms, StoreBatch& batch) {
  v1::SigningKey key;
  key.set_id(absl::StrCat("k", absl::BytesToHexString(RandomBytes(6))));
  key.set_secret(RandomBytes(32));
  key.set_created_unix(now_ms / 1000);
  keys_[key.id()] = key;
  batch.PutKey(key);
  ++keys_generation_;
  batch.PutGenerations(config_generation_, keys_generation_);
}

v1::RotateKeysResponse CoordinatorCore::RotateKeys(int64_t now_ms, StoreBatch& batch) {
  const int64_t retire = now_ms / 1000 + LongestSessionSeconds();
  for (auto& [id, key] : keys_) {
    if (key.retire_unix() == 0) {
      key.set_retire_unix(retire);
      batch.PutKey(key);
    }
  }
  AddKey(now_ms, batch);
  v1::RotateKeysResponse out;
  for (const auto& [id, key] : keys_) {
    if (key.retire_unix() == 0) out.set_current_key_id(id);
    out.add_accepted_key_ids(id);
  }
  return out;
}

void CoordinatorCore::Maintain(int64_t now_ms, StoreBatch& batch) {
  for (auto& [id, engine] : rooms_) {
    engine->Maintain(now_ms);
    touched_.insert(id);
  }
  bool keys_changed = false;
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.retire_unix() != 0 && it->second.retire_unix() * 1000 < now_ms) {
      batch.DeleteKey(it->first);
      it = keys_.erase(it);
      keys_changed = true;
    } else {
      ++it;
    }
  }
  if (keys_changed) {
    ++keys_generation_;
    batch.PutGenerations(config_generation_, keys_generation_);
  }
  for (auto it = agents_.begin(); it != agents_.end();) {
    if (it->second.last_sync_ms() + options_.idle_agent_ms < now_ms) {
      batch.DeleteAgent(it->first);
      it = agents_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = health_.begin(); it != health_.end();) {
    auto& reports = it->second;
    std::erase_if(reports, [&](const auto& kv) {
      return kv.second.at_ms + options_.health_report_ttl_ms < now_ms;
    });
    it = reports.empty() ? health_.erase(it) : std::next(it);
  }
}

void CoordinatorCore::FlushRoomChanges(StoreBatch& batch) {
  for (const std::string& id : touched_) {
    RoomEngine* engine = FindRoom(id);
    if (engine == nullptr) continue;
    RoomChanges changes = engine->TakeChanges();
    if (!changes.empty()) batch.PutRoomChanges(id, engine->state(), changes);
  }
  touched_.clear();
}

std::map<std::string, CoordinatorCore::RoomTotals> CoordinatorCore::Totals() const {
  std::map<std::string, RoomTotals> out;
  for (const auto& [id, engine] : rooms_) {
    RoomTotals& t = out[id];
    t.waiting = engine->Waiting();
    t.active = engine->Active();
    t.outstanding = engine->Outstanding();
    t.admissions = engine->state().core.total_admissions;
  }
  return out;
}

}  // namespace anteroom::coordinator
