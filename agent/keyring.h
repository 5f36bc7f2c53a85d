#pragma once

// The HMAC keys an agent signs and verifies tokens with. Keys arrive from the coordinator in
// every Sync reply that changes them, or from a file for sidecars that run without one (a
// mounted Kubernetes Secret). A new Keyring is built for every change and swapped in whole.
//
// Thread-safe: immutable after Make.

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "anteroom/v1/sync.pb.h"

namespace anteroom::agent {

// Secrets are exactly this long (HMAC-SHA-256 gains nothing from longer keys).
inline constexpr size_t kSecretBytes = 32;
// Key ids are carried in every cookie; this keeps cookies short.
inline constexpr size_t kMaxKeyIdBytes = 32;

class Keyring {
 public:
  // Builds a keyring from `keys`. The current key, which signs new tokens, is the one with
  // retire_unix == 0; when several are, the newest created_unix, then the greatest id.
  // Returns InvalidArgument naming the key ("keys[1] (id \"k2\"): ...") when an id is empty,
  // longer than kMaxKeyIdBytes or repeated, when a secret is not kSecretBytes long, or when no
  // key is current.
  static absl::StatusOr<Keyring> Make(std::vector<v1::SigningKey> keys);

  // The key named `id`, or nullptr. Retired keys are found too: whether a retired key is still
  // accepted is the caller's decision, made against its clock. The pointer lives as long as
  // this Keyring (moves included).
  const v1::SigningKey* Find(std::string_view id) const;

  // The key that signs new tokens. Lives as long as this Keyring.
  const v1::SigningKey& Current() const { return keys_[current_]; }

  // Every key, in the order given to Make.
  const std::vector<v1::SigningKey>& keys() const { return keys_; }

 private:
  Keyring(std::vector<v1::SigningKey> keys, size_t current)
      : keys_(std::move(keys)), current_(current) {}

  // A handful of keys at most (current plus those retiring): a linear search beats a map.
  std::vector<v1::SigningKey> keys_;
  size_t current_;
};

// Reads a keyring from a YAML file:
//
//   keys:
//     - id: k2
//       secret_base64: <32 bytes, standard or URL-safe base64, padding optional>
//       created_unix: 1700000000   # optional, default 0
//       retire_unix: 0             # optional, default 0 (current)
//
// Unknown fields are errors, so a typo does not silently drop a setting.
// Returns NotFound when the file does not exist, otherwise InvalidArgument reading
// "<path>:<line>:<column>: keys[<i>].<field>: <reason>" (or "<path>: <reason>" for errors of
// the whole file), including the errors of Keyring::Make.
absl::StatusOr<Keyring> LoadKeyringFile(const std::string& path);

// HMAC-SHA-256 of `payload` under the key's secret: what tokens and bypass tokens are signed
// with.
std::array<uint8_t, 32> SignWithKey(const v1::SigningKey& key, std::string_view payload);

}  // namespace anteroom::agent
