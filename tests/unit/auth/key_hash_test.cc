#include "auth/key_hash.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

namespace keygate::auth {
namespace {

TEST(KeyHash, Sha256KnownVectors) {
  const KeyHasher hasher = KeyHasher::sha256();
  EXPECT_FALSE(hasher.peppered());
  EXPECT_EQ(hasher.hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hasher.hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(KeyHash, HmacSha256Rfc4231Vectors) {
  // RFC 4231 test case 2.
  const auto jefe = KeyHasher::hmac_sha256("Jefe");
  ASSERT_TRUE(jefe);
  EXPECT_TRUE(jefe->peppered());
  EXPECT_EQ(jefe->hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 1: key = 20 x 0x0b, data = "Hi There". Hashing twice reuses the keyed template.
  const auto tc1 = KeyHasher::hmac_sha256(std::string(20, '\x0b'));
  ASSERT_TRUE(tc1);
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(tc1->hash("Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(KeyHash, InterleavedHashersOnOneThreadKeepTheirOwnKeys) {
  const auto jefe = KeyHasher::hmac_sha256("Jefe");
  const auto other = KeyHasher::hmac_sha256(std::string(20, '\x0b'));
  const KeyHasher plain = KeyHasher::sha256();
  ASSERT_TRUE(jefe && other);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(jefe->hash("what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(plain.hash("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(other->hash("Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
}

TEST(KeyHash, LongPepperIsHashedFirst) {
  // RFC 4231 test case 6: a 131-byte key.
  const auto hasher = KeyHasher::hmac_sha256(std::string(131, '\xaa'));
  ASSERT_TRUE(hasher);
  EXPECT_EQ(hasher->hash("Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(KeyHash, EmptyPepperRefused) {
  EXPECT_FALSE(KeyHasher::hmac_sha256(""));
}

TEST(KeyHash, CreateDefaultsToSha256) {
  std::string error;
  const auto hasher = KeyHasher::create(conf::KeysConfig{}, error);
  ASSERT_TRUE(hasher) << error;
  EXPECT_EQ(hasher->hash("abc"), KeyHasher::sha256().hash("abc"));
}

TEST(KeyHash, CreateReadsPepperFromEnv) {
  conf::KeysConfig keys;
  keys.hash = conf::KeysConfig::Hash::hmac_sha256;
  keys.pepper_env = "KG_PEPPER";
  const KeyHasher::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "KG_PEPPER") return "Jefe";
    return std::nullopt;
  };
  std::string error;
  const auto hasher = KeyHasher::create(keys, error, env);
  ASSERT_TRUE(hasher) << error;
  EXPECT_EQ(hasher->hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(KeyHash, CreateReadsPepperFileAndTrimsNewline) {
  const std::string path = ::testing::TempDir() + "keygate_pepper_test";
  std::ofstream(path) << "Jefe\n";
  conf::KeysConfig keys;
  keys.hash = conf::KeysConfig::Hash::hmac_sha256;
  keys.pepper_env = "KG_UNSET";
  keys.pepper_file = path;
  std::string error;
  const auto hasher =
      KeyHasher::create(keys, error, [](const std::string&) { return std::nullopt; });
  std::remove(path.c_str());
  ASSERT_TRUE(hasher) << error;
  EXPECT_EQ(hasher->hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(KeyHash, CreateFailsWithoutPepper) {
  conf::KeysConfig keys;
  keys.hash = conf::KeysConfig::Hash::hmac_sha256;
  keys.pepper_env = "KG_PEPPER";
  const auto empty = [](const std::string&) -> std::optional<std::string> { return ""; };
  std::string error;
  EXPECT_FALSE(KeyHasher::create(keys, error, empty));
  EXPECT_NE(error.find("KG_PEPPER"), std::string::npos) << error;

  keys.pepper_file = "/nonexistent/keygate/pepper";
  error.clear();
  EXPECT_FALSE(KeyHasher::create(keys, error, empty));
  EXPECT_NE(error.find("/nonexistent/keygate/pepper"), std::string::npos) << error;
}

TEST(KeyHash, SharedHasherIsThreadSafe) {
  const auto hasher = KeyHasher::hmac_sha256("pepper");
  ASSERT_TRUE(hasher);
  const std::string expected = hasher->hash("sk_live_key");
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i)
        if (hasher->hash("sk_live_key") != expected) ++mismatches;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(KeyHash, MovedHasherStillWorks) {
  KeyHasher a = KeyHasher::sha256();
  KeyHasher b = std::move(a);
  EXPECT_EQ(b.hash("abc").size(), kKeyHashHexChars);
}

TEST(KeyHash, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("abcdef", "abcdef"));
  EXPECT_FALSE(constant_time_equals("abcdef", "abcdeg"));
  EXPECT_FALSE(constant_time_equals("abcdef", "abcde"));
  EXPECT_FALSE(constant_time_equals("a", ""));
}

}  // namespace
}  // namespace keygate::auth
