#include "ctl/service_commands.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/table.h"

namespace anteroom::ctl {
namespace {

template <typename M>
void PrintJson(const std::vector<M>& responses, std::ostream& out) {
  out << (responses.size() == 1 ? ToJson(responses[0]) : ToJsonArray(responses)) << '\n';
}

}  // namespace

absl::Status KeysRotate(const Invocation& invocation) {
  auto responses = invocation.api.RotateKeys();
  if (!responses.ok()) return responses.status();
  if (invocation.format == OutputFormat::kJson) {
    PrintJson(*responses, invocation.out);
    return absl::OkStatus();
  }
  Table table({"SHARD", "CURRENT KEY", "ACCEPTED KEYS"});
  for (size_t shard = 0; shard < responses->size(); ++shard) {
    const v1::RotateKeysResponse& r = (*responses)[shard];
    table.AddRow(
        {absl::StrCat(shard), r.current_key_id(), absl::StrJoin(r.accepted_key_ids(), ", ")});
  }
  table.Render(invocation.out);
  return absl::OkStatus();
}

absl::Status Backup(const Invocation& invocation) {
  auto responses = invocation.api.Backup();
  if (!responses.ok()) return responses.status();
  if (invocation.format == OutputFormat::kJson) {
    PrintJson(*responses, invocation.out);
    return absl::OkStatus();
  }
  Table table({"SHARD", "PATH", "CREATED"});
  for (size_t shard = 0; shard < responses->size(); ++shard) {
    const v1::BackupResponse& r = (*responses)[shard];
    table.AddRow({absl::StrCat(shard), r.path(), FormatUnixSeconds(r.created_unix())});
  }
  table.Render(invocation.out);
  return absl::OkStatus();
}

}  // namespace anteroom::ctl
