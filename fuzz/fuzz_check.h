// Invariant checks for the fuzz targets. A failed check aborts, so libFuzzer saves the input as a
// crash and the replay test fails on it; it stays on in release builds (NDEBUG does not remove it).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                       \
  do {                                                                                               \
    if (!(cond)) {                                                                                   \
      std::fprintf(stderr, "%s:%d: invariant violated: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (0)
