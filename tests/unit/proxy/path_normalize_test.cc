#include "proxy/path_normalize.h"

#include <gtest/gtest.h>

namespace keygate::proxy {
namespace {

struct Normalised {
  PathVerdict verdict;
  std::string path;
};

Normalised run(std::string_view path, conf::HttpConfig http = {}) {
  std::string out;
  bool changed = false;
  const auto verdict = normalize_path(path, http, out, changed);
  return {verdict, changed ? out : std::string(path)};
}

TEST(PathNormalize, NormalPathsAreLeftAlone) {
  for (const char* path : {"/", "/a", "/a/b/", "/v1/items.json", "/a-b_c~d", "/%41%2F"}) {
    std::string out = "untouched";
    bool changed = true;
    conf::HttpConfig keep;
    keep.escaped_slashes = conf::HttpConfig::EscapedSlashes::keep;
    EXPECT_EQ(normalize_path(path, keep, out, changed), PathVerdict::ok) << path;
    if (std::string_view(path).find('%') == std::string_view::npos) {
      EXPECT_FALSE(changed) << path;
      EXPECT_EQ(out, "untouched") << path;
    }
  }
}

TEST(PathNormalize, DotSegmentsCannotLeaveAPrefix) {
  EXPECT_EQ(run("/public/../private/x").path, "/private/x");
  EXPECT_EQ(run("/public/%2e%2e/private/x").path, "/private/x");
  EXPECT_EQ(run("/public/%2E%2E/private/x").path, "/private/x");
  EXPECT_EQ(run("/public/.%2e/private").path, "/private");
  EXPECT_EQ(run("/public//../private").path, "/private");
  EXPECT_EQ(run("/public/./x").path, "/public/x");
  EXPECT_EQ(run("/a/b/..").path, "/a/");
  EXPECT_EQ(run("/a/.").path, "/a/");
  EXPECT_EQ(run("/../../etc/passwd").path, "/etc/passwd");
  EXPECT_EQ(run("/..").path, "/");
  EXPECT_EQ(run("/.well-known/x").path, "/.well-known/x");
  EXPECT_EQ(run("/a/..b/c").path, "/a/..b/c");
}

TEST(PathNormalize, SlashesAreMergedUnlessTurnedOff) {
  EXPECT_EQ(run("//private").path, "/private");
  EXPECT_EQ(run("/a///b//").path, "/a/b/");
  conf::HttpConfig keep_slashes;
  keep_slashes.merge_slashes = false;
  EXPECT_EQ(run("/a//b", keep_slashes).path, "/a//b");
  EXPECT_EQ(run("/a//../b", keep_slashes).path, "/a/b");  // RFC 3986: ".." removes the empty one
}

TEST(PathNormalize, UnreservedEscapesAreDecodedOthersKeptInUpperCase) {
  EXPECT_EQ(run("/%61%62c").path, "/abc");
  EXPECT_EQ(run("/%7e%2d%5f").path, "/~-_");
  EXPECT_EQ(run("/a%20b").path, "/a%20b");
  EXPECT_EQ(run("/a%3fb").path, "/a%3Fb");
  EXPECT_EQ(run("/a%25b").path, "/a%25b");  // an encoded '%' stays encoded: no double decoding
  EXPECT_EQ(run("/%252e%252e/x").path, "/%252e%252e/x");
}

TEST(PathNormalize, EncodedSlashesAreRefusedByDefaultOrKeptOpaque) {
  EXPECT_EQ(run("/public/..%2Fprivate").verdict, PathVerdict::escaped_slash);
  EXPECT_EQ(run("/public/%2f").verdict, PathVerdict::escaped_slash);
  EXPECT_EQ(run("/public/%5C..%5Cprivate").verdict, PathVerdict::escaped_slash);
  EXPECT_EQ(run("/public\\..\\private").verdict, PathVerdict::escaped_slash);
  conf::HttpConfig keep;
  keep.escaped_slashes = conf::HttpConfig::EscapedSlashes::keep;
  // Kept as data: "..%2F" is not a dot segment, so it cannot climb out of /public.
  EXPECT_EQ(run("/public/..%2fprivate", keep).path, "/public/..%2Fprivate");
}

TEST(PathNormalize, MalformedInputIsRefused) {
  EXPECT_EQ(run("/a%").verdict, PathVerdict::bad_escape);
  EXPECT_EQ(run("/a%4").verdict, PathVerdict::bad_escape);
  EXPECT_EQ(run("/a%zz").verdict, PathVerdict::bad_escape);
  EXPECT_EQ(run("/a#frag").verdict, PathVerdict::bad_character);
  EXPECT_EQ(run(std::string_view("/a\0b", 4)).verdict, PathVerdict::bad_character);
  EXPECT_EQ(run("/a\x7f").verdict, PathVerdict::bad_character);
}

TEST(PathNormalize, OffLeavesThePathButStillChecksCharacters) {
  conf::HttpConfig off;
  off.normalize_path = false;
  EXPECT_EQ(run("/public/../private", off).path, "/public/../private");
  EXPECT_EQ(run("/a%2f", off).verdict, PathVerdict::escaped_slash);
  EXPECT_EQ(run("/a%g0", off).verdict, PathVerdict::bad_escape);
}

}  // namespace
}  // namespace keygate::proxy
