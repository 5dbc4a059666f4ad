#include "conf/units.h"

#include <gtest/gtest.h>

namespace keygate::conf {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsEveryUnit) {
  EXPECT_EQ(parse_duration("250ms").value, milliseconds(250));
  EXPECT_EQ(parse_duration("2s").value, milliseconds(2000));
  EXPECT_EQ(parse_duration("5m").value, milliseconds(5 * 60 * 1000));
  EXPECT_EQ(parse_duration("1h").value, milliseconds(3600 * 1000));
  EXPECT_EQ(parse_duration("30d").value, milliseconds(30LL * 24 * 3600 * 1000));
  EXPECT_EQ(parse_duration("0s").value, milliseconds(0));
}

TEST(ParseDuration, RejectsBareNumbersWithAHint) {
  auto parsed = parse_duration("30");
  EXPECT_FALSE(parsed.value);
  EXPECT_NE(parsed.error.find("has no unit; write e.g. '30s'"), std::string::npos) << parsed.error;
}

TEST(ParseDuration, RejectsWhatItCannotReadExactly) {
  for (const char* text : {"", "s", "1.5s", "-1s", "+1s", "1 s", "1S", "1sec", "1ms5", "1m30s",
                           "ten seconds", "1us"}) {
    auto parsed = parse_duration(text);
    EXPECT_FALSE(parsed.value) << text;
    EXPECT_FALSE(parsed.error.empty()) << text;
  }
  EXPECT_NE(parse_duration("5sec").error.find("unknown duration unit 'sec'"), std::string::npos);
  EXPECT_NE(parse_duration("1 s").error.find("without a space"), std::string::npos);
}

TEST(ParseDuration, RejectsOverflowInsteadOfWrapping) {
  EXPECT_FALSE(parse_duration("99999999999999999999ms").value);
  EXPECT_FALSE(parse_duration("999999999999999d").value);
  EXPECT_NE(parse_duration("999999999999999d").error.find("too large"), std::string::npos);
  EXPECT_EQ(parse_duration("9223372036854775807ms").value, milliseconds(9223372036854775807LL));
}

TEST(ParseSize, PlainBytesAndEveryUnit) {
  EXPECT_EQ(parse_size("0").value, 0u);
  EXPECT_EQ(parse_size("512").value, 512u);
  EXPECT_EQ(parse_size("512B").value, 512u);
  EXPECT_EQ(parse_size("1KB").value, 1000u);
  EXPECT_EQ(parse_size("2MB").value, 2000000u);
  EXPECT_EQ(parse_size("1GB").value, 1000000000u);
  EXPECT_EQ(parse_size("16KiB").value, 16u * 1024);
  EXPECT_EQ(parse_size("10MiB").value, 10u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB").value, 1024u * 1024 * 1024);
}

TEST(ParseSize, RejectsUnknownUnitsFractionsAndSigns) {
  for (const char* text :
       {"", "KiB", "1.5MiB", "-1", "1 KiB", "1kb", "1kib", "1K", "1M", "1TB", "lots"}) {
    auto parsed = parse_size(text);
    EXPECT_FALSE(parsed.value) << text;
    EXPECT_FALSE(parsed.error.empty()) << text;
  }
  EXPECT_NE(parse_size("1kb").error.find("unknown size unit 'kb'"), std::string::npos);
}

TEST(ParseSize, RejectsOverflow) {
  EXPECT_FALSE(parse_size("18446744073709551616").value);
  EXPECT_FALSE(parse_size("17179869184GiB").value);
  EXPECT_EQ(parse_size("18446744073709551615").value, 18446744073709551615ULL);
}

}  // namespace
}  // namespace keygate::conf
