#include "bench/simulated_agent.h"

#include <algorithm>
#include <utility>

namespace anteroom::bench {
namespace {

// The protocol's time units (DESIGN section 4): 1 s arrival buckets, presence epochs of the
// default 20 s refresh interval, sessions of the default 300 s on 10 s expiry slots.
constexpr int64_t kRefreshSeconds = 20;
constexpr int64_t kSessionSeconds = 300;
constexpr int64_t kSlotSeconds = 10;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

}  // namespace

RoomSet::RoomSet(std::vector<std::string> room_ids) : ids(std::move(room_ids)) {
  for (size_t i = 0; i < ids.size(); ++i) index.emplace(ids[i], i);
}

SimulatedAgent::SimulatedAgent(std::string agent_id, const RoomSet* rooms, uint64_t seed)
    : rooms_(rooms), rng_(seed), state_(rooms->ids.size()) {
  request_.set_agent_id(std::move(agent_id));
}

int64_t SimulatedAgent::Uniform(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

const v1::SyncRequest& SimulatedAgent::NextRequest(int64_t local_now_ms) {
  if (retry_) {
    retry_ = false;
    return request_;
  }
  int64_t now_ms = local_now_ms + clock_offset_ms_;
  request_.set_seq(next_seq_++);
  // Reuse the repeated fields' allocations from the previous request (as an agent would
  // reuse its arena); the reports are rewritten in full below.
  auto* reports = request_.mutable_rooms();
  while (reports->size() > static_cast<int>(rooms_->ids.size())) reports->RemoveLast();
  for (size_t i = 0; i < rooms_->ids.size(); ++i) {
    v1::RoomReport* report = i < static_cast<size_t>(reports->size())
                                 ? reports->Mutable(static_cast<int>(i))
                                 : reports->Add();
    FillReport(now_ms, i, report);
  }
  return request_;
}

void SimulatedAgent::FillReport(int64_t now_ms, size_t room, v1::RoomReport* report) {
  RoomState& st = state_[room];
  report->Clear();
  report->set_room_id(rooms_->ids[room]);

  int64_t now_s = FloorDiv(now_ms, 1000);
  int64_t epoch = FloorDiv(now_s, kRefreshSeconds);

  // New users since the last tick, in the last few arrival buckets.
  int64_t arrived = 0;
  for (int64_t b = now_s - 2; b <= now_s; ++b) {
    int64_t n = Uniform(1, 4);
    arrived += n;
    auto* a = report->add_arrivals();
    a->set_bucket(b);
    a->set_count(n);
  }
  // Waiting users seen this epoch, by the bucket they arrived in.
  int64_t waiting = 0;
  for (int64_t b : {now_s - 40, now_s - 25, now_s - 10, now_s - 3}) {
    int64_t n = Uniform(1, 8);
    waiting += n;
    auto* p = report->add_presence();
    p->set_bucket(b);
    p->set_epoch(epoch);
    p->set_count(n);
  }

  // Spend at most the budget granted by the last reply, and only while its lease runs,
  // oldest waiting bucket first, like an agent admitting eligible users.
  bool lease_runs = st.lease_expiry_ms == 0 || now_ms < st.lease_expiry_ms;
  int64_t budget = lease_runs ? st.budget : 0;
  int64_t spend = std::min(budget, arrived + Uniform(0, 4));
  int64_t left = spend;
  for (int i = 0; i < report->presence_size() && left > 0; ++i) {
    int64_t n = std::min(left, report->presence(i).count());
    auto* adm = report->add_admissions();
    adm->set_bucket(report->presence(i).bucket());
    adm->set_epoch(epoch);
    adm->set_count(n);
    left -= n;
  }
  if (left > 0) {  // More budget than waiting users: admit new arrivals directly.
    auto* adm = report->add_admissions();
    adm->set_bucket(now_s);
    adm->set_epoch(epoch);
    adm->set_count(left);
  }
  if (spend > 0) {
    auto* d = report->add_session_deltas();
    d->set_slot(CeilDiv(now_s + kSessionSeconds, kSlotSeconds) * kSlotSeconds);
    d->set_delta(spend);
  }
  admitted_ += spend;
  report->set_budget_wanted(std::max<int64_t>(0, waiting - spend) + arrived);
  report->set_budget_unspent(st.budget - spend);
  // Spent or returned: either way this grant is used up.
  st.budget = 0;
  st.lease_expiry_ms = 0;
}

void SimulatedAgent::OnReply(const v1::SyncResponse& reply, int64_t sent_ms, int64_t received_ms) {
  if (reply.coordinator_time_ms() != 0) {
    clock_offset_ms_ = reply.coordinator_time_ms() - (sent_ms + received_ms) / 2;
  }
  if (reply.config_generation() != 0) {
    request_.set_config_generation(reply.config_generation());
  }
  if (reply.keys_generation() != 0) request_.set_keys_generation(reply.keys_generation());
  for (const v1::RoomView& view : reply.rooms()) {
    auto it = rooms_->index.find(view.room_id());
    if (it == rooms_->index.end()) continue;
    RoomState& st = state_[it->second];
    st.budget = std::max<int64_t>(0, view.budget());
    st.lease_expiry_ms = view.lease_expiry_ms();
  }
}

}  // namespace anteroom::bench
