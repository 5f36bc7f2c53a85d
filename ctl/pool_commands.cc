#include "ctl/pool_commands.h"

#include "absl/strings/str_cat.h"
#include "common/room_validation.h"
#include "ctl/cli_status.h"
#include "ctl/pool_flags.h"
#include "ctl/pool_output.h"
#include "ctl/value_parsers.h"

namespace anteroom::ctl {
namespace {

constexpr int kUpdateAttempts = 3;

absl::StatusOr<std::string> PoolId(const Invocation& invocation) {
  const std::string& id = invocation.operands.at(0);
  if (absl::Status s = common::ValidateId("pool ID", id); !s.ok()) return UsageError(s);
  return id;
}

bool AnyPoolFlag(const ParsedArgs& args) {
  for (const FlagSpec& spec : PoolFlagSpecs()) {
    if (args.Has(spec.name)) return true;
  }
  return false;
}

}  // namespace

absl::Status PoolCreate(const Invocation& invocation) {
  if (!invocation.args.Has("origin") && !invocation.args.Has("from-file")) {
    return UsageError(FlagError("origin", "required by pool create (at least one)"));
  }
  v1::Pool pool;
  pool.set_id(invocation.operands.at(0));
  if (absl::Status s = ApplyPoolFlags(invocation.args, &pool); !s.ok()) return UsageError(s);
  if (absl::Status s = ValidatePoolFromFlags(pool, invocation.args); !s.ok()) {
    return UsageError(s);
  }
  absl::StatusOr<v1::Pool> created = invocation.api.CreatePool(pool);
  if (!created.ok()) return PoolErrorToFlag(created.status(), invocation.args);
  PrintPool(*created, invocation.format, invocation.out);
  return absl::OkStatus();
}

absl::Status PoolGet(const Invocation& invocation) {
  absl::StatusOr<std::string> id = PoolId(invocation);
  if (!id.ok()) return id.status();
  absl::StatusOr<v1::Pool> pool = invocation.api.GetPool(*id);
  if (!pool.ok()) return pool.status();
  PrintPool(*pool, invocation.format, invocation.out);
  return absl::OkStatus();
}

absl::Status PoolList(const Invocation& invocation) {
  absl::StatusOr<std::vector<v1::Pool>> pools = invocation.api.ListPools();
  if (!pools.ok()) return pools.status();
  PrintPools(*pools, invocation.format, invocation.out);
  return absl::OkStatus();
}

absl::Status PoolUpdate(const Invocation& invocation) {
  absl::StatusOr<std::string> id = PoolId(invocation);
  if (!id.ok()) return id.status();
  if (!AnyPoolFlag(invocation.args)) {
    return UsageError(
        absl::InvalidArgumentError("pool update: no pool flags given, nothing to change"));
  }
  v1::Pool scratch;
  if (absl::Status s = ApplyPoolFlags(invocation.args, &scratch); !s.ok()) return UsageError(s);

  absl::Status last;
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    absl::StatusOr<v1::Pool> pool = invocation.api.GetPool(*id);
    if (!pool.ok()) return pool.status();
    int64_t version = pool->version();
    if (absl::Status s = ApplyPoolFlags(invocation.args, &*pool); !s.ok()) return UsageError(s);
    if (absl::Status s = ValidatePoolFromFlags(*pool, invocation.args); !s.ok()) {
      return UsageError(s);
    }
    absl::StatusOr<v1::Pool> updated = invocation.api.UpdatePool(*pool, version);
    if (updated.ok()) {
      PrintPool(*updated, invocation.format, invocation.out);
      return absl::OkStatus();
    }
    last = PoolErrorToFlag(updated.status(), invocation.args);
    if (!absl::IsAborted(last)) break;
  }
  return last;
}

absl::Status PoolDelete(const Invocation& invocation) {
  absl::StatusOr<std::string> id = PoolId(invocation);
  if (!id.ok()) return id.status();
  if (absl::Status s = invocation.api.DeletePool(*id); !s.ok()) return s;
  if (invocation.format == OutputFormat::kJson) {
    invocation.out << "{\n \"id\": \"" << *id << "\",\n \"deleted\": true\n}\n";
  } else {
    invocation.out << "pool " << *id << " deleted\n";
  }
  return absl::OkStatus();
}

absl::Status Health(const Invocation& invocation) {
  std::string pool_id = invocation.args.Get("pool").value_or("");
  if (!pool_id.empty()) {
    if (absl::Status s = common::ValidateId("--pool", pool_id); !s.ok()) return UsageError(s);
  }
  auto verdicts = invocation.api.GetOriginHealth(pool_id);
  if (!verdicts.ok()) return verdicts.status();
  PrintOriginHealth(*verdicts, invocation.format, invocation.out);
  return absl::OkStatus();
}

}  // namespace anteroom::ctl
