// Property checks inside fuzz targets. Unlike assert() they stay on in Release builds (the
// corpus replay under `make test` is built with -DNDEBUG), and abort() is what libFuzzer
// reports as a finding.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)
