#include "coordinator/sync_validation.h"

#include <set>
#include <string>

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

absl::Status Invalid(const std::string& field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status Range(const std::string& field, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    return Invalid(field, absl::StrCat("must be between ", lo, " and ", hi, " (got ", v, ")"));
  }
  return absl::OkStatus();
}

template <typename Repeated>
absl::Status Size(const std::string& field, const Repeated& r, int max) {
  if (r.size() > max) return Invalid(field, absl::StrCat("more than ", max, " entries"));
  return absl::OkStatus();
}

absl::Status ValidateReport(const std::string& f, const v1::RoomReport& r, int64_t now_s) {
  if (auto s = common::ValidateId(f + ".room_id", r.room_id()); !s.ok()) return s;
  // Buckets are arrival seconds: prequeue lotteries may place them well before now.
  const int64_t oldest_bucket = now_s - 30 * kDaySeconds;
  const int64_t newest_bucket = now_s + 3600;
  if (auto s = Size(f + ".arrivals", r.arrivals(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.arrivals_size(); ++i) {
    const std::string g = absl::StrCat(f, ".arrivals[", i, "]");
    if (auto s = Range(g + ".bucket", r.arrivals(i).bucket(), oldest_bucket, newest_bucket);
        !s.ok())
      return s;
    if (auto s = Range(g + ".count", r.arrivals(i).count(), 0, kMaxCount); !s.ok()) return s;
  }
  if (auto s = Size(f + ".presence", r.presence(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.presence_size(); ++i) {
    const std::string g = absl::StrCat(f, ".presence[", i, "]");
    if (auto s = Range(g + ".bucket", r.presence(i).bucket(), oldest_bucket, newest_bucket);
        !s.ok())
      return s;
    if (auto s = Range(g + ".epoch", r.presence(i).epoch(), 0, newest_bucket); !s.ok()) return s;
    if (auto s = Range(g + ".count", r.presence(i).count(), 0, kMaxCount); !s.ok()) return s;
  }
  if (auto s = Size(f + ".admissions", r.admissions(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.admissions_size(); ++i) {
    const std::string g = absl::StrCat(f, ".admissions[", i, "]");
    const int64_t b = r.admissions(i).bucket();
    if (b != 0) {
      if (auto s = Range(g + ".bucket", b, oldest_bucket, newest_bucket); !s.ok()) return s;
    }
    if (auto s = Range(g + ".epoch", r.admissions(i).epoch(), 0, newest_bucket); !s.ok()) return s;
    if (auto s = Range(g + ".count", r.admissions(i).count(), 0, kMaxCount); !s.ok()) return s;
  }
  if (auto s = Size(f + ".session_deltas", r.session_deltas(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < r.session_deltas_size(); ++i) {
    const std::string g = absl::StrCat(f, ".session_deltas[", i, "]");
    const int64_t slot = r.session_deltas(i).slot();
    if (auto s = Range(g + ".slot", slot, now_s - kDaySeconds, now_s + 32 * kDaySeconds); !s.ok())
      return s;
    if (slot % common::kSlotSeconds != 0) return Invalid(g + ".slot", "must be a multiple of 10");
    if (auto s = Range(g + ".delta", r.session_deltas(i).delta(), -kMaxCount, kMaxCount); !s.ok())
      return s;
  }
  if (auto s = Range(f + ".budget_wanted", r.budget_wanted(), 0, kMaxBudget); !s.ok()) return s;
  if (auto s = Size(f + ".wanted_buckets", r.wanted_buckets(), kMaxEntries); !s.ok()) return s;
  int64_t wanted_sum = 0;
  for (int i = 0; i < r.wanted_buckets_size(); ++i) {
    const std::string g = absl::StrCat(f, ".wanted_buckets[", i, "]");
    const v1::BucketCount& w = r.wanted_buckets(i);
    if (auto s = Range(g + ".bucket", w.bucket(), oldest_bucket, newest_bucket); !s.ok()) return s;
    if (i > 0 && w.bucket() <= r.wanted_buckets(i - 1).bucket()) {
      return Invalid(g + ".bucket", "buckets must be strictly increasing");
    }
    if (auto s = Range(g + ".count", w.count(), 1, kMaxCount); !s.ok()) return s;
    wanted_sum += w.count();
  }
  if (r.wanted_buckets_size() > 0 && wanted_sum != r.budget_wanted()) {
    return Invalid(f + ".wanted_buckets", absl::StrCat("counts sum to ", wanted_sum,
                                                       ", not budget_wanted ", r.budget_wanted()));
  }
  if (auto s = Range(f + ".budget_unspent", r.budget_unspent(), 0, kMaxBudget); !s.ok()) return s;
  if (auto s = Range(f + ".direct_arrivals", r.direct_arrivals(), 0, kMaxCount); !s.ok()) return s;
  if (auto s = Range(f + ".invalid_tokens", r.invalid_tokens(), 0, kMaxCount); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSyncRequest(const v1::SyncRequest& request, int64_t now_ms) {
  const std::string& id = request.agent_id();
  if (id.empty()) return Invalid("agent_id", "is required");
  if (id.size() > 128) return Invalid("agent_id", "longer than 128 characters");
  for (char c : id) {
    if (c <= 0x20 || c >= 0x7f)
      return Invalid("agent_id", "must be printable ASCII without spaces");
  }
  if (request.seq() == 0) return Invalid("seq", "must start at 1");
  if (request.config_generation() < 0) return Invalid("config_generation", "must not be negative");
  if (request.keys_generation() < 0) return Invalid("keys_generation", "must not be negative");
  if (auto s = Size("rooms", request.rooms(), kMaxRooms); !s.ok()) return s;
  const int64_t now_s = common::FloorDiv(now_ms, 1000);
  std::set<std::string_view> seen;
  for (int i = 0; i < request.rooms_size(); ++i) {
    const std::string f = absl::StrCat("rooms[", i, "]");
    if (auto s = ValidateReport(f, request.rooms(i), now_s); !s.ok()) return s;
    if (!seen.insert(request.rooms(i).room_id()).second) {
      return Invalid(f + ".room_id",
                     absl::StrCat("room '", request.rooms(i).room_id(), "' reported twice"));
    }
  }
  if (auto s = Size("health", request.health(), kMaxEntries); !s.ok()) return s;
  for (int i = 0; i < request.health_size(); ++i) {
    const v1::OriginObservation& o = request.health(i);
    const std::string f = absl::StrCat("health[", i, "]");
    if (auto s = common::ValidateId(f + ".pool_id", o.pool_id()); !s.ok()) return s;
    if (o.origin().empty() || o.origin().size() > 300)
      return Invalid(f + ".origin", "1-300 characters");
    if (o.reason().size() > 300) return Invalid(f + ".reason", "longer than 300 characters");
    if (o.latency_us() < 0) return Invalid(f + ".latency_us", "must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace anteroom::coordinator
