#pragma once

// The Admin API over gRPC, with the bearer token on every call and rooms routed to their
// owner shard.
//
// Shard routing (DESIGN section 10): with one address every call goes there. With several,
// addresses are the shards by ordinal:
//   - a room call goes to its owner, common::OwnerShard(id, shard_count);
//   - pools are replicated, because a shard checks the pools a room names against its own
//     copies: a pool write goes to the pool's owner shard first (which decides: ALREADY_EXISTS,
//     NOT_FOUND, ABORTED) and then to every other shard unconditionally; reads go to the owner;
//   - list, health, key and backup calls go to every shard and merge the answers.
// A shard that fails fails the whole call, named in the message ("shard 1 (host:port): ...");
// a pool write can then be left on some shards only, and repeating it repairs that.
//
// Not thread-safe (anteroomctl makes one call at a time).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ctl/admin_api.h"

namespace anteroom::ctl {

struct ConnectionOptions {
  // "host:port" per shard, by ordinal. REQUIRES: not empty.
  std::vector<std::string> addresses;
  // Sent as "authorization: Bearer <token>"; empty sends no authorization header.
  std::string token;
  // Deadline of each RPC.
  absl::Duration timeout = absl::Seconds(5);
};

// Splits a coordinator list ("host:port" or "host:port,host:port,...") into addresses. Full
// gRPC targets ("dns:///anteroom:7400", "unix:/run/anteroom.sock") pass through unchanged.
// Errors: InvalidArgument "<source>: expected HOST:PORT..." when an entry is not HOST:PORT
// with a port 1-65535; `source` is where the text came from ("--coordinator",
// "ANTEROOM_COORDINATOR").
absl::StatusOr<std::vector<std::string>> ParseCoordinatorList(absl::string_view source,
                                                              absl::string_view text);

// Connects lazily: creating the client never fails; an unreachable shard shows up as
// UNAVAILABLE on the first call to it.
std::unique_ptr<AdminApi> NewGrpcAdminClient(const ConnectionOptions& options);

}  // namespace anteroom::ctl
