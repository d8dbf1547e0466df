// The libyal libraries' errors (libqcow, libvhdi, libvslvm, libbde, libluksde, ...) as one
// printable line for a report.
//
// Each library has its own error type (libX_error_t, an intptr_t behind the pointer) and its own
// libX_error_sprint / libX_error_backtrace_sprint / libX_error_free, taken from the library loaded
// at run time (dynamic_library.h): they are passed in, so one helper serves every library.
// A libyal error is a chain of messages, the outermost last; the backtrace form gives them all,
// one per line, which is joined here into one line ("a; b; c"). The messages hold on-disk names
// and values of a crafted image: control characters are replaced, and the text is capped
// (limits::kMaxLibyalErrorBytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "scanner/image/limits.h"

namespace flscan::scanner::image {

// `operation` and the text a libyal sprint wrote into `buffer` (NUL-terminated within `size`, or
// not at all when `written` is negative), as "<operation>: <message; message...>": control
// characters become spaces, lines are joined with "; ", empty messages dropped.
[[nodiscard]] std::string libyal_error_line(std::string_view operation, const char* buffer, std::size_t size,
                                            int written);

// `error` (may be null: "no reason given") as libyal_error_line says, then freed with `free_error`
// (and set to null). `sprint` is the library's libX_error_backtrace_sprint (or libX_error_sprint,
// which gives only the outermost message).
template <typename Error>
[[nodiscard]] std::string libyal_error_text(std::string_view operation, Error*& error,
                                            int (*sprint)(Error*, char*, std::size_t), void (*free_error)(Error**)) {
  char buffer[limits::kMaxLibyalErrorBytes];
  buffer[0] = '\0';
  int written = -1;
  if (error != nullptr) {
    written = sprint(error, buffer, sizeof buffer);
    free_error(&error);
    error = nullptr;
  }
  return libyal_error_line(operation, buffer, sizeof buffer, written);
}

}  // namespace flscan::scanner::image
