// The shape of a raw API key: `<prefix><body>`.
//
//   prefix  one of conf::KeysConfig::prefixes, e.g. "sk_live_"; it names the key's environment
//           and type, so a leaked key is recognisable (and secret scanners can match it).
//   body    40 base62 characters [0-9A-Za-z]: 34 random ones (~202 bits) followed by 6 that
//           encode the CRC32 of prefix + random part, as GitHub tokens do.
//
// The checksum lets parse_key() reject typos and random garbage without touching the cache or
// the store. It is not a secret and not a MAC: anyone can compute it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace keygate::auth {

inline constexpr std::size_t kKeyRandomChars = 34;
inline constexpr std::size_t kKeyChecksumChars = 6;
inline constexpr std::size_t kKeyBodyChars = kKeyRandomChars + kKeyChecksumChars;
// What the stores keep (KeyRecord::prefix) and what listings show.
inline constexpr std::size_t kDisplayPrefixChars = 14;
// No configured prefix plus body comes near this; anything longer is rejected unread.
inline constexpr std::size_t kMaxKeyLength = 256;

// Fills `out` with `n` cryptographically strong random bytes; false on failure.
using RandomBytes = std::function<bool(unsigned char* out, std::size_t n)>;

// What a well-formed key says about itself. Only the store says whether it exists.
struct ParsedKey {
  std::string environment;
  std::string type;
  std::string prefix;
};

// A new random key with the given prefix, drawn from OpenSSL RAND_bytes.
// Returns an empty string if the random generator fails (never a weak key).
std::string generate_key(const conf::KeyPrefixConfig& prefix);
// The same, with the random source injected (tests).
std::string generate_key(const conf::KeyPrefixConfig& prefix, const RandomBytes& random);

// Checks length, alphabet, prefix and checksum. nullopt for anything that cannot be a key
// issued under `keys`; no I/O, no allocation for rejected input.
std::optional<ParsedKey> parse_key(std::string_view raw, const conf::KeysConfig& keys);

// The first kDisplayPrefixChars characters, e.g. "sk_live_a1B2c3": enough to recognise a key
// in a listing, far too little to guess the rest.
std::string display_prefix(std::string_view raw);

// Exposed for tests and tools.
std::uint32_t crc32(std::string_view data);
// `value` as exactly kKeyChecksumChars base62 digits, most significant first.
std::string checksum_chars(std::uint32_t value);

}  // namespace keygate::auth
