// The portable build's stand-in for dlopen (dynamic_library.h): the libraries it links into the
// executable, each by the SONAME the normal build loads, with the functions flscan takes from it.
// Compiled only with FLSCAN_PORTABLE (scanner/CMakeLists.txt); README "Portable binary".
#pragma once

#include <span>

namespace flscan::scanner::image {

struct LinkedFunction {
  const char* name;
  void* address;
};

struct LinkedLibrary {
  const char* soname;
  // Null for a library linked in; otherwise why this build cannot link it (then no functions).
  const char* absent;
  std::span<const LinkedFunction> functions;
};

// The entry for `soname`, or null when the table has none.
[[nodiscard]] const LinkedLibrary* linked_library(const char* soname);

}  // namespace flscan::scanner::image
