// A libyal library's error as one printable line (scanner/image/libyal_error.h, issue 15): the
// library's sprint and free functions are passed in; here stand-ins for them record what they got.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "scanner/image/libyal_error.h"

using flscan::scanner::image::libyal_error_line;
using flscan::scanner::image::libyal_error_text;

namespace {

using FakeError = std::intptr_t;  // libyal's libX_error_t
const char* g_text = "";
int g_freed = 0;

int fake_sprint(FakeError*, char* buffer, std::size_t size) {
  const std::size_t length = std::min(std::strlen(g_text), size - 1);
  std::memcpy(buffer, g_text, length);
  buffer[length] = '\0';
  return static_cast<int>(length);
}
void fake_free(FakeError** error) {
  ++g_freed;
  *error = nullptr;
}

}  // namespace

TEST_CASE("libyal errors: every message of the backtrace on one printable line, the error freed",
          "[image][libyal][issue15]") {
  FakeError storage = 1;
  FakeError* error = &storage;
  g_text = "libqcow_file_open: unable to open file.\nlibbfio_file_open: \x1b[31mno such file\r\n\n";
  g_freed = 0;
  CHECK(libyal_error_text("open qcow2", error, fake_sprint, fake_free) ==
        "open qcow2: libqcow_file_open: unable to open file.; libbfio_file_open:  [31mno such file");
  CHECK(g_freed == 1);
  CHECK(error == nullptr);
}

TEST_CASE("libyal errors: no error object or no text still names the operation", "[image][libyal][issue15]") {
  FakeError* error = nullptr;
  g_freed = 0;
  CHECK(libyal_error_text("read", error, fake_sprint, fake_free) == "read: the library gave no reason");
  CHECK(g_freed == 0);
  CHECK(libyal_error_line("read", "text", 5, -1) == "read: the library gave no reason");
  // A buffer the library left without its terminating NUL is read only within its size.
  const char unterminated[4] = {'a', 'b', 'c', 'd'};
  CHECK(libyal_error_line("read", unterminated, 3, 3) == "read: abc");
}
