// How a raw key becomes the identifier the stores and the cache know it by.
//
// Default: lowercase hex SHA-256 of the raw key. Keys carry ~200 random bits, so a plain hash
// cannot be brute-forced; the optional HMAC-SHA256 with a server-side pepper additionally makes
// a leaked store useless without the pepper (hash: hmac-sha256 in the config).
//
// A KeyHasher is immutable after construction and safe to share between threads. Each thread
// keeps one reusable OpenSSL context (see key_hash.cc), so a hash costs well under a
// microsecond and, beyond the result string, only what OpenSSL 3.0 allocates internally on
// re-initialisation (one or two small blocks; its API offers no allocation-free path).
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace keygate::auth {

inline constexpr std::size_t kKeyHashHexChars = 64;

// A key's hash as bytes: what hash() spells in hex.
using KeyDigest = std::array<unsigned char, 32>;

// The 64 lowercase hex characters of `digest`, as hash() returns them.
std::string hex_digest(const KeyDigest& digest);

class KeyHasher {
 public:
  // Reads the environment variable `name`; nullopt when unset.
  using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

  // From the `keys` config. For hmac-sha256 the pepper comes from pepper_env (tried first) or
  // pepper_file (trailing whitespace trimmed); returns nullopt and sets `error` when neither
  // yields a non-empty pepper. `env` defaults to getenv().
  static std::optional<KeyHasher> create(const conf::KeysConfig& keys, std::string& error,
                                         const EnvLookup& env = {});
  static KeyHasher sha256();
  // nullopt when `pepper` is empty.
  static std::optional<KeyHasher> hmac_sha256(std::string_view pepper);

  KeyHasher(KeyHasher&&) noexcept;
  KeyHasher& operator=(KeyHasher&&) noexcept;
  ~KeyHasher();

  // 64 lowercase hex characters; empty only if OpenSSL itself fails.
  std::string hash(std::string_view raw_key) const;
  // The same hash as bytes, for lookups in memory (no hex on the way); false on failure.
  bool digest_into(std::string_view raw_key, KeyDigest& out) const;

  bool peppered() const;

 private:
  struct Impl;
  explicit KeyHasher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Constant-time for equal lengths (CRYPTO_memcmp); a length mismatch returns at once, which
// is fine because everything compared this way (hashes, tokens) has a public, fixed length.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace keygate::auth
