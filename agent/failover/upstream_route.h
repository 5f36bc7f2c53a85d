#pragma once

// UpstreamRoute: how a proxied request's origin was chosen from pools, carried in its Decision
// so that the handler can move the request to another origin when this one fails, and so that
// the origin's count of requests in flight covers exactly the exchange.
//
// Move-only: it holds one unit of the current origin's `outstanding`.

#include <array>
#include <memory>
#include <utility>

#include "agent/failover/origin_state.h"

namespace anteroom::agent {

struct PoolOrder;

class OriginLease {
 public:
  OriginLease() = default;
  explicit OriginLease(OriginState* origin) : origin_(origin) {
    if (origin_ != nullptr) origin_->outstanding.fetch_add(1, std::memory_order_relaxed);
  }
  OriginLease(OriginLease&& other) noexcept : origin_(std::exchange(other.origin_, nullptr)) {}
  OriginLease& operator=(OriginLease&& other) noexcept {
    if (this != &other) {
      Release();
      origin_ = std::exchange(other.origin_, nullptr);
    }
    return *this;
  }
  ~OriginLease() { Release(); }

  OriginState* get() const { return origin_; }
  void Release() {
    if (origin_ != nullptr) origin_->outstanding.fetch_sub(1, std::memory_order_relaxed);
    origin_ = nullptr;
  }

 private:
  OriginState* origin_ = nullptr;
};

struct UpstreamRoute {
  // Keeps `order` and the origins valid for the request's lifetime (the snapshot it came from).
  std::shared_ptr<const void> hold;
  const PoolOrder* order = nullptr;     // Null: a fixed upstream, no failover.
  OriginLease lease;                    // The origin in use.
  static constexpr int kMaxTried = 16;  // The most upstream_attempts allows.
  std::array<const OriginState*, kMaxTried> tried{};
  int tried_count = 0;

  bool Tried(const OriginState* origin) const {
    for (int i = 0; i < tried_count; ++i) {
      if (tried[i] == origin) return true;
    }
    return false;
  }
  void MarkTried(const OriginState* origin) {
    if (tried_count < kMaxTried) tried[tried_count++] = origin;
  }
};

}  // namespace anteroom::agent
