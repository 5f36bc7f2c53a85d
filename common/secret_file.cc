#include "common/secret_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace anteroom::common {

absl::StatusOr<std::string> ReadSecretFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string secret(absl::StripAsciiWhitespace(ss.str()));
  if (secret.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is empty"));
  }
  for (char c : secret) {
    // It travels as an HTTP/2 header value, which gRPC refuses unless it is visible ASCII.
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": ", path, " must hold one token of visible ASCII characters"));
    }
  }
  return secret;
}

}  // namespace anteroom::common
