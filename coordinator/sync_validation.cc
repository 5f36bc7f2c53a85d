#include "coordinator/sync_validation.h"

#include <set>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/room_validation.h"
#include "common/time_slots.h"

namespace anteroom::coordinator {
namespace {

constexpr int64_t kMaxCount = 1'000'000;
constexpr int64_t kMaxBudget = 1'000'000'000;
constexpr int kMaxRooms = 10'000;
constexpr int kMaxEntries = 100'000;
constexpr int64_t kDaySeconds = 86'400;

// Every Sync passes through here, so a field's path (e.g. "arrivals[2].count") is spelled out
// only when its check fails: building the names up front cost more than the checks.
template <typename... Path>
absl::Status Invalid(absl::string_view why, const Path&... path) {
  return absl::InvalidArgumentError(absl::StrCat(path..., ": ", why));
}

template <typename... Path>
absl::Status Range(int64_t v, int64_t lo, int64_t hi, const Path&... path) {
  if (v >= lo && v <= hi) return absl::OkStatus();
  return Invalid(absl::StrCat("must be between ", lo, " and ", hi, " (got ", v, ")"), path...);
}

template <typename Repeated>
absl::Status Size(absl::string_view field, const Repeated& r, int max) {
  if (r.size() > max) return Invalid(absl::StrCat("more than ", max, " entries"), field);
  return absl::OkStatus();
}

// Paths in the errors are relative to the report; the caller puts "rooms[i]." in front.
absl::Status ValidateReport(const v1::RoomReport& r, int64_t now_s) {
  if (auto s = common::ValidateId("room_id", r.room_id()); !s.ok()) return s;
  // Buckets are arrival seconds: prequeue lotteries may place them well before now.
  const int64_t oldest = now_s - 30 * kDaySeconds;
  const int64_t newest = now_s + 3600;
  if (auto s = Size("arrivals", r.arrivals(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.arrivals_size(); ++i) {
    const v1::BucketCount& a = r.arrivals(i);
    if (auto s = Range(a.bucket(), oldest, newest, "arrivals[", i, "].bucket"); !s.ok()) return s;
    if (auto s = Range(a.count(), 0, kMaxCount, "arrivals[", i, "].count"); !s.ok()) return s;
  }
  if (auto s = Size("presence", r.presence(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.presence_size(); ++i) {
    const v1::PresenceCount& p = r.presence(i);
    if (auto s = Range(p.bucket(), oldest, newest, "presence[", i, "].bucket"); !s.ok()) return s;
    if (auto s = Range(p.epoch(), 0, newest, "presence[", i, "].epoch"); !s.ok()) return s;
    if (auto s = Range(p.count(), 0, kMaxCount, "presence[", i, "].count"); !s.ok()) return s;
  }
  if (auto s = Size("admissions", r.admissions(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.admissions_size(); ++i) {
    const v1::AdmissionCount& a = r.admissions(i);
    if (a.bucket() != 0) {
      if (auto s = Range(a.bucket(), oldest, newest, "admissions[", i, "].bucket"); !s.ok())
        return s;
    }
    if (auto s = Range(a.epoch(), 0, newest, "admissions[", i, "].epoch"); !s.ok()) return s;
    if (auto s = Range(a.count(), 0, kMaxCount, "admissions[", i, "].count"); !s.ok()) return s;
  }
  if (auto s = Size("session_deltas", r.session_deltas(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.session_deltas_size(); ++i) {
    const v1::SlotDelta& d = r.session_deltas(i);
    if (auto s = Range(d.slot(), now_s - kDaySeconds, now_s + 32 * kDaySeconds, "session_deltas[",
                       i, "].slot");
        !s.ok())
      return s;
    if (d.slot() % common::kSlotSeconds != 0) {
      return Invalid("must be a multiple of 10", "session_deltas[", i, "].slot");
    }
    if (auto s = Range(d.delta(), -kMaxCount, kMaxCount, "session_deltas[", i, "].delta"); !s.ok())
      return s;
  }
  if (auto s = Range(r.budget_wanted(), 0, kMaxBudget, "budget_wanted"); !s.ok()) return s;
  if (auto s = Size("wanted_buckets", r.wanted_buckets(), kMaxEntries); !s.ok()) return s;
  int64_t wanted_sum = 0;
  for (int i = 0; i < r.wanted_buckets_size(); ++i) {
    const v1::BucketCount& w = r.wanted_buckets(i);
    if (auto s = Range(w.bucket(), oldest, newest, "wanted_buckets[", i, "].bucket"); !s.ok())
      return s;
    if (i > 0 && w.bucket() <= r.wanted_buckets(i - 1).bucket()) {
      return Invalid("buckets must be strictly increasing", "wanted_buckets[", i, "].bucket");
    }
    if (auto s = Range(w.count(), 1, kMaxCount, "wanted_buckets[", i, "].count"); !s.ok()) return s;
    wanted_sum += w.count();
  }
  if (r.wanted_buckets_size() > 0 && wanted_sum != r.budget_wanted()) {
    return Invalid(
        absl::StrCat("counts sum to ", wanted_sum, ", not budget_wanted ", r.budget_wanted()),
        "wanted_buckets");
  }
  if (auto s = Range(r.budget_unspent(), 0, kMaxBudget, "budget_unspent"); !s.ok()) return s;
  if (auto s = Range(r.direct_arrivals(), 0, kMaxCount, "direct_arrivals"); !s.ok()) return s;
  if (auto s = Range(r.invalid_tokens(), 0, kMaxCount, "invalid_tokens"); !s.ok()) return s;
  if (auto s = Size("revoked", r.revoked(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.revoked_size(); ++i) {
    const v1::RevokedSession& v = r.revoked(i);
    if (v.visitor_id().size() != 16) {
      return Invalid(absl::StrCat("must be 16 bytes (got ", v.visitor_id().size(), ")"), "revoked[",
                     i, "].visitor_id");
    }
    if (auto s =
            Range(v.slot(), now_s - kDaySeconds, now_s + 32 * kDaySeconds, "revoked[", i, "].slot");
        !s.ok())
      return s;
    if (v.slot() % common::kSlotSeconds != 0) {
      return Invalid("must be a multiple of 10", "revoked[", i, "].slot");
    }
  }
  if (r.revocations_known() < 0) return Invalid("must not be negative", "revocations_known");
  if (auto s = Range(r.newcomers_wanting(), 0, kMaxBudget, "newcomers_wanting"); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSyncRequest(const v1::SyncRequest& request, int64_t now_ms) {
  const std::string& id = request.agent_id();
  if (id.empty()) return Invalid("is required", "agent_id");
  if (id.size() > 128) return Invalid("longer than 128 characters", "agent_id");
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f)
      return Invalid("must be printable ASCII without spaces", "agent_id");
  }
  if (request.seq() == 0) return Invalid("must start at 1", "seq");
  if (request.config_generation() < 0) return Invalid("must not be negative", "config_generation");
  if (request.keys_generation() < 0) return Invalid("must not be negative", "keys_generation");
  if (auto s = Size("rooms", request.rooms(), kMaxRooms); !s.ok()) return s;
  const int64_t now_s = common::FloorDiv(now_ms, 1000);
  std::set<std::string_view> seen;  // Only filled when there is more than one room.
  for (int i = 0; i < request.rooms_size(); ++i) {
    const v1::RoomReport& room = request.rooms(i);
    if (auto s = ValidateReport(room, now_s); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("rooms[", i, "].", s.message()));
    }
    if (request.rooms_size() > 1 && !seen.insert(room.room_id()).second) {
      return Invalid(absl::StrCat("room '", room.room_id(), "' reported twice"), "rooms[", i,
                     "].room_id");
    }
  }
  if (auto s = Size("health", request.health(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < request.health_size(); ++i) {
    const v1::OriginObservation& o = request.health(i);
    if (auto s = common::ValidateId("pool_id", o.pool_id()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("health[", i, "].", s.message()));
    }
    if (o.origin().empty() || o.origin().size() > 300) {
      return Invalid("1-300 characters", "health[", i, "].origin");
    }
    if (o.reason().size() > 300) {
      return Invalid("longer than 300 characters", "health[", i, "].reason");
    }
    if (o.latency_us() < 0) return Invalid("must not be negative", "health[", i, "].latency_us");
  }
  return absl::OkStatus();
}

}  // namespace anteroom::coordinator
