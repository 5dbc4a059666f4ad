#include "auth/key_format.h"

#include <openssl/rand.h>

#include <array>

namespace keygate::auth {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// 1 for the characters of kBase62, 0 for every other byte. Key bodies are random, so a
// range test per character mispredicts about every other branch; a table lookup does not.
constexpr std::array<std::uint8_t, 256> make_base62_table() {
  std::array<std::uint8_t, 256> table{};
  for (char c : kBase62) table[static_cast<unsigned char>(c)] = 1;
  return table;
}
constexpr auto kIsBase62 = make_base62_table();

bool all_base62(std::string_view text) {
  unsigned valid = 1;
  for (unsigned char c : text) valid &= kIsBase62[c];  // no early exit: no branch per character
  return valid != 0;
}

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes. Eight
// independent lookups per 8 bytes instead of a chain of eight dependent ones; every request
// with a key checks one.
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr CrcTables make_crc_tables() {
  CrcTables tables{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    tables[0][i] = c;
  }
  for (std::size_t k = 1; k < tables.size(); ++k)
    for (std::uint32_t i = 0; i < 256; ++i)
      tables[k][i] = tables[0][tables[k - 1][i] & 0xFF] ^ (tables[k - 1][i] >> 8);
  return tables;
}
constexpr CrcTables kCrc = make_crc_tables();

std::uint32_t crc32_update(std::uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    const std::uint32_t low = crc ^ (std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                                     std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24);
    crc = kCrc[7][low & 0xFF] ^ kCrc[6][(low >> 8) & 0xFF] ^ kCrc[5][(low >> 16) & 0xFF] ^
          kCrc[4][low >> 24] ^ kCrc[3][p[4]] ^ kCrc[2][p[5]] ^ kCrc[1][p[6]] ^ kCrc[0][p[7]];
  }
  for (; n > 0; ++p, --n) crc = kCrc[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return crc;
}

void write_checksum(std::uint32_t value, char* out) {
  for (std::size_t i = kKeyChecksumChars; i-- > 0;) {
    out[i] = kBase62[value % 62];
    value /= 62;
  }
}

bool openssl_random(unsigned char* out, std::size_t n) {
  return RAND_bytes(out, static_cast<int>(n)) == 1;
}

}  // namespace

std::uint32_t crc32(std::string_view data) {
  return ~crc32_update(0xFFFFFFFFu, data);
}

std::string checksum_chars(std::uint32_t value) {
  std::string out(kKeyChecksumChars, '0');
  write_checksum(value, out.data());
  return out;
}

std::string generate_key(const conf::KeyPrefixConfig& prefix) {
  return generate_key(prefix, openssl_random);
}

std::string generate_key(const conf::KeyPrefixConfig& prefix, const RandomBytes& random) {
  std::string key = prefix.prefix;
  key.reserve(prefix.prefix.size() + kKeyBodyChars);
  // Rejection sampling: 248 = 4 * 62, so bytes below it map onto base62 without bias.
  std::array<unsigned char, 64> buffer{};
  std::size_t produced = 0;
  int refills = 0;
  while (produced < kKeyRandomChars) {
    // Each refill yields ~62 usable bytes; a source that keeps failing us is broken.
    if (++refills > 16 || !random(buffer.data(), buffer.size())) return {};
    for (unsigned char byte : buffer) {
      if (byte >= 248) continue;
      key.push_back(kBase62[byte % 62]);
      if (++produced == kKeyRandomChars) break;
    }
  }
  const std::size_t end = key.size();
  key.resize(end + kKeyChecksumChars);
  write_checksum(crc32(std::string_view(key).substr(0, end)), key.data() + end);
  return key;
}

std::optional<ParsedKey> parse_key(std::string_view raw, const conf::KeysConfig& keys) {
  if (raw.size() <= kKeyBodyChars || raw.size() > kMaxKeyLength) return std::nullopt;
  const std::string_view prefix = raw.substr(0, raw.size() - kKeyBodyChars);
  const std::string_view body = raw.substr(prefix.size());
  // Prefixes end in '_', which base62 never contains, so the split point is unambiguous.
  if (prefix.back() != '_') return std::nullopt;
  if (!all_base62(body)) return std::nullopt;

  const conf::KeyPrefixConfig* match = nullptr;
  for (const auto& candidate : keys.prefixes)
    if (candidate.prefix == prefix) match = &candidate;
  if (match == nullptr) return std::nullopt;

  char expected[kKeyChecksumChars];
  write_checksum(crc32(raw.substr(0, raw.size() - kKeyChecksumChars)), expected);
  if (body.substr(kKeyRandomChars) != std::string_view(expected, kKeyChecksumChars))
    return std::nullopt;
  return ParsedKey{match->environment, match->type, match->prefix};
}

std::string display_prefix(std::string_view raw) {
  return std::string(raw.substr(0, kDisplayPrefixChars));
}

}  // namespace keygate::auth
