#include "auth/key_format.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/auth/auth_test_config.h"

namespace keygate::auth {
namespace {

using testing::test_keys_config;

TEST(KeyFormat, Crc32KnownValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
}

// The bit-at-a-time definition of CRC-32 (IEEE, reflected), against the table-driven one at
// every length around its 8-byte steps.
std::uint32_t crc32_bitwise(std::string_view data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

TEST(KeyFormat, Crc32MatchesTheBitwiseDefinitionAtEveryLength) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(crc32(data), crc32_bitwise(data)) << "length " << data.size();
    data.push_back(static_cast<char>(i * 37 + 0x80));
  }
}

TEST(KeyFormat, ChecksumCharsAreSixBase62Digits) {
  EXPECT_EQ(checksum_chars(0), "000000");
  EXPECT_EQ(checksum_chars(61), "00000z");
  EXPECT_EQ(checksum_chars(62), "000010");
  EXPECT_EQ(checksum_chars(0xFFFFFFFFu), "4gfFC3");  // 4294967295 in base62
}

TEST(KeyFormat, GenerateParseRoundTripForEveryPrefix) {
  const conf::KeysConfig keys = test_keys_config();
  for (const auto& prefix : keys.prefixes) {
    const std::string key = generate_key(prefix);
    ASSERT_EQ(key.size(), prefix.prefix.size() + kKeyBodyChars) << prefix.prefix;
    EXPECT_EQ(key.substr(0, prefix.prefix.size()), prefix.prefix);
    const auto parsed = parse_key(key, keys);
    ASSERT_TRUE(parsed) << key;
    EXPECT_EQ(parsed->environment, prefix.environment);
    EXPECT_EQ(parsed->type, prefix.type);
    EXPECT_EQ(parsed->prefix, prefix.prefix);
  }
}

TEST(KeyFormat, BodyIsBase62) {
  const std::string key = generate_key(test_keys_config().prefixes[0]);
  for (char c : key.substr(8))
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) << c;
}

TEST(KeyFormat, ChecksumRejectsEveryOneCharChange) {
  const conf::KeysConfig keys = test_keys_config();
  const std::string key = generate_key(keys.prefixes[0]);
  ASSERT_TRUE(parse_key(key, keys));
  for (std::size_t i = 8; i < key.size(); ++i) {
    std::string changed = key;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(parse_key(changed, keys)) << "position " << i;
  }
}

TEST(KeyFormat, RejectsWrongAlphabet) {
  const conf::KeysConfig keys = test_keys_config();
  std::string key = generate_key(keys.prefixes[0]);
  for (char bad : {'-', '_', '+', '/', '=', ' ', '\0', '\xC3'}) {
    std::string changed = key;
    changed[20] = bad;
    EXPECT_FALSE(parse_key(changed, keys)) << int(bad);
  }
}

TEST(KeyFormat, RejectsWrongLength) {
  const conf::KeysConfig keys = test_keys_config();
  const std::string key = generate_key(keys.prefixes[0]);
  EXPECT_FALSE(parse_key(key.substr(0, key.size() - 1), keys));
  EXPECT_FALSE(parse_key(key + "0", keys));
  EXPECT_FALSE(parse_key("", keys));
  EXPECT_FALSE(parse_key("sk_live_", keys));
  EXPECT_FALSE(parse_key(std::string(5000, 'a'), keys));
}

TEST(KeyFormat, RejectsUnknownPrefix) {
  const conf::KeysConfig keys = test_keys_config();
  const conf::KeyPrefixConfig other{"live", "secret", "xx_live_"};
  const std::string key = generate_key(other);
  EXPECT_FALSE(parse_key(key, keys));
  // Same body under a known prefix: the checksum covers the prefix, so still rejected.
  EXPECT_FALSE(parse_key("sk_live_" + key.substr(8), keys));
  // A prefix must match exactly, not only as a prefix of a longer one.
  EXPECT_FALSE(parse_key("xsk_live_" + generate_key(keys.prefixes[0]).substr(8), keys));
}

TEST(KeyFormat, RandomnessSanity) {
  const conf::KeyPrefixConfig prefix{"live", "secret", "sk_live_"};
  std::set<std::string> seen;
  std::array<int, 62> counts{};
  const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr int kKeys = 2000;
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = generate_key(prefix);
    seen.insert(key);
    for (std::size_t j = 8; j < 8 + kKeyRandomChars; ++j) ++counts[alphabet.find(key[j])];
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kKeys));
  // 68000 draws over 62 symbols: ~1097 each; a biased or stuck generator falls far outside.
  for (int c : counts) {
    EXPECT_GT(c, 850);
    EXPECT_LT(c, 1350);
  }
}

TEST(KeyFormat, RejectionSamplingSkipsHighBytes) {
  // Bytes 248..255 would bias a plain modulo; they must be skipped.
  int call = 0;
  const RandomBytes source = [&](unsigned char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = (call == 0 && i % 2 == 0) ? 250 : 1;
    ++call;
    return true;
  };
  const std::string key = generate_key({"live", "secret", "sk_live_"}, source);
  ASSERT_EQ(key.size(), 8 + kKeyBodyChars);
  EXPECT_EQ(key.substr(8, kKeyRandomChars), std::string(kKeyRandomChars, '1'));
  EXPECT_TRUE(parse_key(key, test_keys_config()));
}

TEST(KeyFormat, FailingRandomSourceYieldsNoKey) {
  const RandomBytes broken = [](unsigned char*, std::size_t) { return false; };
  EXPECT_EQ(generate_key({"live", "secret", "sk_live_"}, broken), "");
  const RandomBytes stuck = [](unsigned char* out, std::size_t n) {
    std::fill(out, out + n, 255);
    return true;
  };
  EXPECT_EQ(generate_key({"live", "secret", "sk_live_"}, stuck), "");
}

TEST(KeyFormat, DisplayPrefixIsFourteenChars) {
  EXPECT_EQ(display_prefix("sk_live_a1B2c3d4e5f6"), "sk_live_a1B2c3");
  EXPECT_EQ(display_prefix("short"), "short");
}

}  // namespace
}  // namespace keygate::auth
