#include "proxy/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace keygate::proxy {
namespace {

TEST(Ascii, EightBytesAtOnceLowerEveryByteValueAsOneAtATime) {
  for (int value = 0; value < 256; ++value) {
    for (int at = 0; at < 8; ++at) {
      // The byte among neighbours that are letters and high bytes, to catch a carry.
      unsigned char bytes[8] = {'Z', 0xff, 'A', 0x80, '@', '[', 0x7f, 'q'};
      bytes[at] = static_cast<unsigned char>(value);
      std::uint64_t word;
      std::memcpy(&word, bytes, sizeof word);
      const std::uint64_t lowered = ascii_lower8(word);
      unsigned char out[8];
      std::memcpy(out, &lowered, sizeof out);
      for (int i = 0; i < 8; ++i)
        ASSERT_EQ(static_cast<char>(out[i]), ascii_lower(static_cast<char>(bytes[i])))
            << "value " << value << " at " << at << " byte " << i;
    }
  }
}

TEST(Ascii, IequalsMatchesCaseOnlyAtEveryLength) {
  const std::string name = "Proxy-Authorization-And-Some-More";
  for (std::size_t n = 0; n <= name.size(); ++n) {
    const std::string a = name.substr(0, n);
    std::string lower = a;
    for (auto& c : lower) c = ascii_lower(c);
    EXPECT_TRUE(iequals(a, lower)) << a;
    for (std::size_t i = 0; i < n; ++i) {
      std::string other = lower;
      other[i] =
          other[i] == '-' ? '\r' : static_cast<char>(other[i] ^ 0x40);  // '-' | 0x20 == '\r' | 0x20
      EXPECT_FALSE(iequals(a, other)) << a << " vs " << other;
    }
  }
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_FALSE(iequals("content-length\x80", "content-length\xa0"));
}

}  // namespace
}  // namespace keygate::proxy
