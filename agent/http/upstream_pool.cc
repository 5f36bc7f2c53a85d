#include "agent/http/upstream_pool.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <string_view>

#include "common/host_port.h"

namespace anteroom::agent::http {
namespace {

// A connection idle for longer than this is checked before reuse.
constexpr auto kCheckIdleAfter = std::chrono::milliseconds(250);

}  // namespace

UpstreamPool::UpstreamPool(asio::io_context& ioc, size_t max_idle_per_target,
                           std::chrono::milliseconds max_idle_time)
    : ioc_(ioc), max_idle_per_target_(max_idle_per_target), max_idle_time_(max_idle_time) {}

UpstreamPool::~UpstreamPool() { CloseAll(); }

UpstreamPool::Target& UpstreamPool::Find(const Upstream& upstream) {
  const std::string_view host = common::StripBrackets(upstream.host);
  for (const std::unique_ptr<Target>& target : targets_) {
    if (target->port == upstream.port && target->host == host) return *target;
  }
  auto target = std::make_unique<Target>();
  target->host = std::string(host);
  target->port = upstream.port;
  bool v6 = target->host.find(':') != std::string::npos;
  target->authority =
      (v6 ? "[" + target->host + "]" : target->host) + ":" + std::to_string(upstream.port);
  targets_.push_back(std::move(target));
  return *targets_.back();
}

std::unique_ptr<UpstreamConnection> UpstreamPool::TakeIdle(
    Target& target, std::chrono::steady_clock::time_point now) {
  while (!target.idle.empty()) {
    std::unique_ptr<UpstreamConnection> connection = std::move(target.idle.back());
    target.idle.pop_back();
    connection->reused = true;
    if (now - connection->idle_since < kCheckIdleAfter) return connection;
    // Readable while idle means closed by the upstream (or bytes nobody asked for): either
    // way it cannot carry another request.
    char byte;
    error_code ec;
    connection->socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return connection;
    connection->socket.close(ec);
  }
  return nullptr;
}

void UpstreamPool::Release(Target& target, std::unique_ptr<UpstreamConnection> connection,
                           std::chrono::steady_clock::time_point now) {
  if (closed_ || target.idle.size() >= max_idle_per_target_ || !connection->socket.is_open() ||
      connection->buffer.size() != 0) {
    error_code ignored;
    connection->socket.close(ignored);
    return;
  }
  connection->idle_since = now;
  target.idle.push_back(std::move(connection));
}

void UpstreamPool::DropOldest(Target& target) {
  error_code ignored;
  target.idle.front()->socket.close(ignored);
  target.idle.erase(target.idle.begin());
}

asio::awaitable<error_code> UpstreamPool::Resolve(Target& target) {
  if (!target.endpoints.empty()) co_return error_code{};
  error_code ec;
  asio::ip::address address = asio::ip::make_address(target.host, ec);
  if (!ec) {
    target.endpoints.assign(1, tcp::endpoint(address, target.port));
    co_return error_code{};
  }
  tcp::resolver resolver(ioc_);
  auto [resolve_error, results] =
      co_await resolver.async_resolve(target.host, std::to_string(target.port), kUseTuple);
  if (resolve_error) co_return resolve_error;
  if (!target.endpoints.empty()) co_return error_code{};  // Another session resolved it.
  for (const auto& entry : results) target.endpoints.push_back(entry.endpoint());
  if (target.endpoints.empty()) co_return asio::error::host_not_found;
  co_return error_code{};
}

void UpstreamPool::Forget(Target& target) {
  error_code ec;
  asio::ip::make_address(target.host, ec);
  if (ec) target.endpoints.clear();  // Literals never change.
}

void UpstreamPool::Prune(std::chrono::steady_clock::time_point now) {
  for (const std::unique_ptr<Target>& target : targets_) {
    while (!target->idle.empty() && now - target->idle.front()->idle_since > max_idle_time_) {
      DropOldest(*target);
    }
  }
}

void UpstreamPool::CloseAll() {
  closed_ = true;
  for (const std::unique_ptr<Target>& target : targets_) {
    while (!target->idle.empty()) DropOldest(*target);
  }
}

size_t UpstreamPool::IdleCount() const {
  size_t count = 0;
  for (const std::unique_ptr<Target>& target : targets_) count += target->idle.size();
  return count;
}

}  // namespace anteroom::agent::http
