// limits.shutdown_delay and readiness.require_store: their defaults, what they accept, and
// one error per invalid snippet.
#include <gtest/gtest.h>

#include "tests/unit/conf/load_helpers.h"

namespace keygate::conf {
namespace {

using testing::load_with_required;
using testing::loaded;
using testing::only_error;

TEST(ShutdownDelayConfig, DefaultsToFiveSecondsAndAcceptsZero) {
  EXPECT_EQ(loaded(load_with_required("")).limits.shutdown_delay, Duration(5000));
  EXPECT_EQ(loaded(load_with_required("limits: {shutdown_delay: 0s}\n")).limits.shutdown_delay,
            Duration(0));
  EXPECT_EQ(loaded(load_with_required("limits: {shutdown_delay: 250ms}\n")).limits.shutdown_delay,
            Duration(250));
}

TEST(ShutdownDelayConfig, NotADurationIsRefusedAtItsPosition) {
  EXPECT_EQ(only_error(load_with_required("limits: {shutdown_delay: soon}\n")),
            "t.yaml:1:26: limits shutdown_delay: 'soon' is not a duration (units: ms, s, m, h, d; "
            "e.g. 250ms, 2s, 5m, 1h, 30d)");
}

TEST(ShutdownDelayConfig, AListIsRefused) {
  EXPECT_EQ(only_error(load_with_required("limits: {shutdown_delay: [1s]}\n")),
            "t.yaml:1:26: limits shutdown_delay must be a duration such as 2s, got a list");
}

TEST(ReadinessConfig, StoreIsNotRequiredByDefault) {
  EXPECT_FALSE(loaded(load_with_required("")).readiness.require_store);
  EXPECT_TRUE(
      loaded(load_with_required("readiness: {require_store: true}\n")).readiness.require_store);
  EXPECT_FALSE(loaded(load_with_required("readiness:\n")).readiness.require_store);
}

TEST(ReadinessConfig, RequireStoreMustBeABoolean) {
  EXPECT_EQ(only_error(load_with_required("readiness: {require_store: maybe}\n")),
            "t.yaml:1:28: readiness require_store must be true or false, got 'maybe'");
}

TEST(ReadinessConfig, UnknownKeyWithSuggestion) {
  EXPECT_EQ(only_error(load_with_required("readiness: {require_stores: true}\n")),
            "t.yaml:1:13: unknown key 'require_stores' in readiness (did you mean "
            "'require_store'?)");
}

TEST(ReadinessConfig, MustBeAMap) {
  EXPECT_EQ(only_error(load_with_required("readiness: true\n")),
            "t.yaml:1:12: readiness must be a map, got 'true'");
}

}  // namespace
}  // namespace keygate::conf
