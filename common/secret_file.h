#pragma once

// Reads a secret (a bearer token) from a file, as Kubernetes mounts Secrets: the whole file,
// with surrounding whitespace and the trailing newline dropped.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace anteroom::common {

// The secret, or an error naming `flag` (for example "admin-token-file") and saying why:
// NotFound when the file cannot be read, InvalidArgument when it holds nothing or anything
// but visible ASCII (a bearer token must fit in an HTTP header).
absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag, const std::string& path);

}  // namespace anteroom::common
