// scanner/image/tsk_runtime.cpp, compiled here against a libtsk that is not there
// (FLSCAN_TSK_EXPECT_MISSING_LIBRARY) or against tsk_stub.cpp, which lacks one function
// (FLSCAN_TSK_EXPECT_MISSING_SYMBOL): either way opening an image fails with a null handle and
// tsk_error_get() says why, so the image is reported NOT SCANNED with that reason; the program does
// not abort. The real library's behaviour is covered by image_tests.
#include <catch2/catch.hpp>

#include <string>

#include <tsk/libtsk.h>

#include "scanner/image/tsk_runtime.h"

TEST_CASE("no error before the library was looked for, and a reset then is harmless", "[tsk_runtime]") {
  tsk_error_reset();
  CHECK(tsk_error_get() == nullptr);
}

TEST_CASE("an unusable libtsk makes every image open fail with a reason instead of aborting", "[tsk_runtime]") {
  CHECK(tsk_img_open_utf8_sing("/nonexistent.img", TSK_IMG_TYPE_DETECT, 0) == nullptr);
  const char* why = tsk_error_get();
  REQUIRE(why != nullptr);
  const std::string reason = why;
  CHECK(reason.find("disk images need The Sleuth Kit") != std::string::npos);
#if defined(FLSCAN_TSK_EXPECT_MISSING_SYMBOL)
  CHECK(reason.find("lacks tsk_fs_file_close") != std::string::npos);
#elif defined(FLSCAN_TSK_EXPECT_MISSING_LIBRARY)
  CHECK(reason.find("could not be loaded") != std::string::npos);
#else
#error "tsk_runtime_test.cpp needs FLSCAN_TSK_EXPECT_MISSING_SYMBOL or FLSCAN_TSK_EXPECT_MISSING_LIBRARY"
#endif
  // The callback open (the fuzz target's) and a reset after the failure behave the same way.
  CHECK(tsk_img_open_external(nullptr, 0, 512, nullptr, nullptr, nullptr) == nullptr);
  tsk_error_reset();
  CHECK(tsk_error_get() == reason);
}

TEST_CASE("tsk_unavailable() loads the library and gives the same reason", "[tsk_runtime]") {
  const char* why = flscan::scanner::tsk_unavailable();
  REQUIRE(why != nullptr);
  REQUIRE(tsk_error_get() != nullptr);
  CHECK(std::string(why) == tsk_error_get());
}
