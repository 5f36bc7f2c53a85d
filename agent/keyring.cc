#include "agent/keyring.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace anteroom::agent {
namespace {

// A key file holds a few lines; anything larger is the wrong file.
constexpr size_t kMaxKeyFileBytes = 64 << 10;

std::string KeyName(size_t index, const v1::SigningKey& key) {
  return absl::StrCat("keys[", index, "] (id \"", absl::CEscape(key.id()), "\")");
}

// "<path>:<line>:<column>: " with 1-based positions, as in common/yaml_proto.h.
std::string Where(absl::string_view path, const YAML::Mark& mark) {
  if (mark.is_null()) return absl::StrCat(path, ": ");
  return absl::StrCat(path, ":", mark.line + 1, ":", mark.column + 1, ": ");
}

absl::Status ReadFile(const std::string& path, std::string* text) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    int error = errno;
    std::string why = absl::StrCat("cannot open '", path, "': ", std::strerror(error));
    return error == ENOENT ? absl::NotFoundError(why) : absl::InvalidArgumentError(why);
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0 && text->size() <= kMaxKeyFileBytes) {
    text->append(buf, n);
  }
  int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': ", std::strerror(error)));
  }
  if (text->size() > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read '", path, "': larger than ", kMaxKeyFileBytes, " bytes"));
  }
  return absl::OkStatus();
}

// Parses one entry of the `keys` list. `field` is "keys[i]". yaml-cpp throws; the caller
// catches.
absl::Status ParseKey(absl::string_view path, absl::string_view field, const YAML::Node& node,
                      v1::SigningKey* key) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path, node.Mark()), field, ": expected a map"));
  }
  bool has_secret = false;
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    auto error = [&](absl::string_view reason) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(path, value.Mark()), field, ".", name, ": ", reason));
    };
    if (!value.IsScalar()) return error("expected a scalar");
    const std::string& text = value.Scalar();
    if (name == "id") {
      key->set_id(text);
    } else if (name == "secret_base64") {
      std::string secret;
      // Kubernetes Secrets use standard base64; operators also paste URL-safe output.
      if (!absl::Base64Unescape(text, &secret) && !absl::WebSafeBase64Unescape(text, &secret)) {
        return error("not valid base64");
      }
      if (secret.size() != kSecretBytes) {
        return error(
            absl::StrCat("must decode to ", kSecretBytes, " bytes (got ", secret.size(), ")"));
      }
      key->set_secret(std::move(secret));
      has_secret = true;
    } else if (name == "created_unix" || name == "retire_unix") {
      int64_t seconds = 0;
      if (!absl::SimpleAtoi(text, &seconds) || seconds < 0) {
        return error(absl::StrCat("expected a non-negative integer, got '", text, "'"));
      }
      name == "created_unix" ? key->set_created_unix(seconds) : key->set_retire_unix(seconds);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          Where(path, entry.first.Mark()), field, ".", name,
          ": unknown field (expected id, secret_base64, created_unix or retire_unix)"));
    }
  }
  if (!has_secret) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path, node.Mark()), field, ".secret_base64: is required"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::SigningKey>> ParseKeyFile(absl::string_view path,
                                                         const std::string& text) {
  YAML::Node root = YAML::Load(text);
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path, root.Mark()), "expected a map with a 'keys' list"));
  }
  std::optional<YAML::Node> list;
  for (const auto& entry : root) {
    if (entry.first.Scalar() != "keys") {
      return absl::InvalidArgumentError(absl::StrCat(Where(path, entry.first.Mark()),
                                                     entry.first.Scalar(),
                                                     ": unknown field (expected keys)"));
    }
    list = entry.second;
  }
  if (!list.has_value() || !list->IsSequence()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Where(path, list.has_value() ? list->Mark() : root.Mark()),
                     "keys: expected a list of keys"));
  }
  std::vector<v1::SigningKey> keys;
  for (size_t i = 0; i < list->size(); ++i) {
    v1::SigningKey key;
    if (auto s = ParseKey(path, absl::StrCat("keys[", i, "]"), (*list)[i], &key); !s.ok()) {
      return s;
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace

absl::StatusOr<Keyring> Keyring::Make(std::vector<v1::SigningKey> keys) {
  std::optional<size_t> current;
  for (size_t i = 0; i < keys.size(); ++i) {
    const v1::SigningKey& key = keys[i];
    if (key.id().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(KeyName(i, key), ": id is empty"));
    }
    if (key.id().size() > kMaxKeyIdBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(KeyName(i, key), ": id is longer than ", kMaxKeyIdBytes, " bytes"));
    }
    if (key.secret().size() != kSecretBytes) {
      return absl::InvalidArgumentError(absl::StrCat(KeyName(i, key), ": secret must be ",
                                                     kSecretBytes, " bytes (got ",
                                                     key.secret().size(), ")"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (keys[j].id() == key.id()) {
        return absl::InvalidArgumentError(
            absl::StrCat(KeyName(i, key), ": id repeats keys[", j, "]"));
      }
    }
    if (key.retire_unix() != 0) continue;
    if (!current.has_value()) {
      current = i;
      continue;
    }
    // Every agent must pick the same current key from the same set, whatever the order.
    const v1::SigningKey& best = keys[*current];
    if (key.created_unix() > best.created_unix() ||
        (key.created_unix() == best.created_unix() && key.id() > best.id())) {
      current = i;
    }
  }
  if (!current.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no current signing key (one with retire_unix 0) among ", keys.size(), " keys"));
  }
  return Keyring(std::move(keys), *current);
}

const v1::SigningKey* Keyring::Find(std::string_view id) const {
  for (const v1::SigningKey& key : keys_) {
    if (key.id() == id) return &key;
  }
  return nullptr;
}

absl::StatusOr<Keyring> LoadKeyringFile(const std::string& path) {
  std::string text;
  if (auto s = ReadFile(path, &text); !s.ok()) return s;
  absl::StatusOr<std::vector<v1::SigningKey>> keys;
  try {
    keys = ParseKeyFile(path, text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(Where(path, e.mark), e.msg));
  }
  if (!keys.ok()) return keys.status();
  absl::StatusOr<Keyring> keyring = Keyring::Make(*std::move(keys));
  if (!keyring.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", keyring.status().message()));
  }
  return keyring;
}

std::array<uint8_t, 32> SignWithKey(const v1::SigningKey& key, std::string_view payload) {
  std::array<uint8_t, 32> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.secret().data(), static_cast<int>(key.secret().size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac.data(), &length);
  return mac;
}

}  // namespace anteroom::agent
