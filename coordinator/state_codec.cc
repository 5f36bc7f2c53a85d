#include "coordinator/state_codec.h"

#include <cmath>
#include <cstring>

namespace anteroom::coordinator {
namespace {

void PutBigEndian(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t GetBigEndian(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

constexpr uint64_t kSignBit = 1ULL << 63;

template <typename Map>
void EncodeCounts(const Map& m, google::protobuf::RepeatedPtrField<v1::CountRecord>* out) {
  for (const auto& [k, n] : m) {
    v1::CountRecord* r = out->Add();
    r->set_key(k);
    r->set_count(n);
  }
}

template <typename Map>
void DecodeCounts(const google::protobuf::RepeatedPtrField<v1::CountRecord>& in, Map* m) {
  for (const v1::CountRecord& r : in) (*m)[r.key()] = r.count();
}

}  // namespace

v1::RoomCoreRecord EncodeCore(const RoomCore& core) {
  v1::RoomCoreRecord r;
  r.set_marker_bucket(core.marker.bucket);
  r.set_marker_fraction(core.marker.fraction);
  r.set_marker_probability(core.marker.probability);
  EncodeCounts(core.grants_by_second, r.mutable_grants_by_second());
  EncodeCounts(core.admissions_by_10s, r.mutable_admissions_by_10s());
  EncodeCounts(core.queued_by_10s, r.mutable_queued_by_10s());
  r.set_total_admissions(core.total_admissions);
  r.set_total_arrivals(core.total_arrivals);
  r.set_invalid_tokens(core.invalid_tokens);
  r.set_revocation_seq(core.revocation_seq);
  return r;
}

RoomCore DecodeCore(const v1::RoomCoreRecord& r) {
  RoomCore core;
  core.marker.bucket = r.marker_bucket();
  core.marker.fraction = r.marker_fraction();
  core.marker.probability = r.marker_probability();
  DecodeCounts(r.grants_by_second(), &core.grants_by_second);
  DecodeCounts(r.admissions_by_10s(), &core.admissions_by_10s);
  DecodeCounts(r.queued_by_10s(), &core.queued_by_10s);
  core.total_admissions = r.total_admissions();
  core.total_arrivals = r.total_arrivals();
  core.invalid_tokens = r.invalid_tokens();
  core.revocation_seq = r.revocation_seq();
  return core;
}

v1::RevocationRecord EncodeRevocation(const Revocation& revocation) {
  v1::RevocationRecord r;
  r.set_visitor_id(revocation.visitor);
  r.set_slot(revocation.slot);
  r.set_until_ms(revocation.until_ms);
  return r;
}

Revocation DecodeRevocation(const v1::RevocationRecord& r) {
  return Revocation{.visitor = r.visitor_id(), .slot = r.slot(), .until_ms = r.until_ms()};
}

v1::LeaseRecord EncodeLease(const std::string& agent_id, const Lease& lease) {
  v1::LeaseRecord l;
  l.set_agent_id(agent_id);
  l.set_granted(lease.granted);
  l.set_expiry_ms(lease.expiry_ms);
  l.set_grant_second(lease.grant_second);
  l.set_wanted(lease.wanted);
  l.set_last_sync_ms(lease.last_sync_ms);
  l.set_arrival_rate(lease.arrival_rate);
  l.set_presumed_count(lease.presumed_count);
  l.set_presumed_slot(lease.presumed_slot);
  for (const auto& [bucket, count] : lease.wanted_buckets) {
    v1::LeaseWanted* w = l.add_wanted_buckets();
    w->set_bucket(bucket);
    w->set_count(count);
  }
  return l;
}

Lease DecodeLease(const v1::LeaseRecord& l) {
  Lease lease;
  lease.granted = l.granted();
  lease.expiry_ms = l.expiry_ms();
  lease.grant_second = l.grant_second();
  lease.wanted = l.wanted();
  lease.last_sync_ms = l.last_sync_ms();
  // A rate that is not a finite non-negative number (a damaged record) only costs prefetch.
  lease.arrival_rate =
      std::isfinite(l.arrival_rate()) && l.arrival_rate() > 0.0 ? l.arrival_rate() : 0.0;
  lease.presumed_count = l.presumed_count();
  lease.presumed_slot = l.presumed_slot();
  for (const v1::LeaseWanted& w : l.wanted_buckets()) {
    lease.wanted_buckets.emplace_back(w.bucket(), w.count());
  }
  return lease;
}

v1::BucketRecord EncodeBucket(const BucketState& b) {
  v1::BucketRecord r;
  r.set_arrivals(b.arrivals);
  r.set_epoch0(b.epoch[0]);
  r.set_present0(b.present[0]);
  r.set_admitted0(b.admitted[0]);
  r.set_epoch1(b.epoch[1]);
  r.set_present1(b.present[1]);
  r.set_admitted1(b.admitted[1]);
  r.set_admitted_total(b.admitted_total);
  return r;
}

BucketState DecodeBucket(const v1::BucketRecord& r) {
  BucketState b;
  b.arrivals = r.arrivals();
  b.epoch[0] = r.epoch0();
  b.present[0] = r.present0();
  b.admitted[0] = r.admitted0();
  b.epoch[1] = r.epoch1();
  b.present[1] = r.present1();
  b.admitted[1] = r.admitted1();
  b.admitted_total = r.admitted_total();
  return b;
}

std::string RoomIntKey(const std::string& room_id, int64_t value) {
  std::string key;
  key.reserve(room_id.size() + 9);
  key.append(room_id);
  key.push_back('\0');
  PutBigEndian(&key, static_cast<uint64_t>(value) ^ kSignBit);
  return key;
}

std::string RoomRangeBegin(const std::string& room_id) { return room_id + std::string(1, '\0'); }
std::string RoomRangeEnd(const std::string& room_id) { return room_id + std::string(1, '\1'); }

absl::Status ParseRoomIntKey(std::string_view key, std::string* room_id, int64_t* value) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') {
    return absl::InvalidArgumentError("malformed room key");
  }
  room_id->assign(key.data(), key.size() - 9);
  *value = static_cast<int64_t>(GetBigEndian(key.substr(key.size() - 8)) ^ kSignBit);
  return absl::OkStatus();
}

std::string RoomNameKey(const std::string& room_id, const std::string& name) {
  std::string key;
  key.reserve(room_id.size() + 1 + name.size());
  key.append(room_id);
  key.push_back('\0');
  key.append(name);
  return key;
}

absl::Status ParseRoomNameKey(std::string_view key, std::string* room_id, std::string* name) {
  const size_t zero = key.find('\0');
  if (zero == std::string_view::npos || zero == 0)
    return absl::InvalidArgumentError("malformed key");
  room_id->assign(key.substr(0, zero));
  name->assign(key.substr(zero + 1));
  return absl::OkStatus();
}

std::string EncodeFixed64(int64_t value) {
  std::string out;
  PutBigEndian(&out, static_cast<uint64_t>(value));
  return out;
}

absl::StatusOr<int64_t> DecodeFixed64(std::string_view bytes) {
  if (bytes.size() != 8) return absl::DataLossError("fixed64 value is not 8 bytes");
  return static_cast<int64_t>(GetBigEndian(bytes));
}

}  // namespace anteroom::coordinator
