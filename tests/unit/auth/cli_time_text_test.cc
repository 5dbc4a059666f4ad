#include <gtest/gtest.h>

#include "auth/time_text.h"

namespace keygate::auth {
namespace {

TEST(CliTimeTextTest, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2025-01-31T00:00:00Z"), 1738281600);
  EXPECT_EQ(parse_rfc3339("2025-01-31t00:00:00z"), 1738281600);
  EXPECT_EQ(parse_rfc3339("2025-01-31T02:00:00+02:00"), 1738281600);
  EXPECT_EQ(parse_rfc3339("2025-01-30T19:00:00-05:00"), 1738281600);
  EXPECT_EQ(parse_rfc3339("2025-01-31T00:00:00.999Z"), 1738281600);
  EXPECT_EQ(parse_rfc3339("2025-01-31"), 1738281600);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:00:00Z"), 1709208000);
}

TEST(CliTimeTextTest, RejectsWhatIsNotRfc3339) {
  for (const char* text : {"", "2025-1-31", "2025-02-30", "2025-13-01", "2025-01-31T00:00:00",
                           "2025-01-31T24:00:00Z", "2025-01-31T00:00Z", "2025-01-31T00:00:00+2",
                           "2025-01-31T00:00:00Zjunk", "tomorrow", "2025-01-31T00:00:00."})
    EXPECT_FALSE(parse_rfc3339(text)) << text;
}

TEST(CliTimeTextTest, FormatsUtc) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1738281600 + 3723), "2025-01-31T01:02:03Z");
  for (UnixSeconds t : {0L, 951782400L, 1714557600L, 4102444799L})
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
}

TEST(CliTimeTextTest, TimeOrDurationFromNow) {
  std::string error;
  EXPECT_EQ(parse_time_or_duration("90d", 1000, error), 1000 + 90 * 86400);
  EXPECT_EQ(parse_time_or_duration("24h", 1000, error), 1000 + 86400);
  EXPECT_EQ(parse_time_or_duration("1500ms", 1000, error), 1002);  // rounded up
  EXPECT_EQ(parse_time_or_duration("2025-01-31T00:00:00Z", 1000, error), 1738281600);
  EXPECT_FALSE(parse_time_or_duration("90", 1000, error));
  EXPECT_NE(error.find("neither an RFC 3339 time"), std::string::npos) << error;
}

TEST(CliTimeTextTest, Durations) {
  std::string error;
  EXPECT_EQ(parse_duration_seconds("0", error), 0);
  EXPECT_EQ(parse_duration_seconds("0s", error), 0);
  EXPECT_EQ(parse_duration_seconds("30m", error), 1800);
  EXPECT_FALSE(parse_duration_seconds("-1h", error));
  EXPECT_FALSE(parse_duration_seconds("soon", error));
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(86400), "1d");
  EXPECT_EQ(format_duration(5400), "1h30m");
  EXPECT_EQ(format_duration(90061), "1d1h1m1s");
}

}  // namespace
}  // namespace keygate::auth
