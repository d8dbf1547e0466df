// Fuzz target: a dynamic or differencing VHD (issue 19) detected and opened as flscan opens a PATH
// (libvhdi opens and checks the file through the LibyalApi table; flscan reads its footer, dynamic
// disk header, block allocation table and sector bitmaps, libyal_chain.cpp load_vhd_chain), then
// its whole disk read through the TSK callback image (fuzz/image_file_harness.h).
//
// libvhdi is not instrumented (a Debian library): memory errors inside it show only when they
// fault; flscan's block lookup is checked by ASan and UBSan.
#include <cstddef>
#include <cstdint>

#include "fuzz/image_file_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  flscan::fuzz::fuzz_image_file(data, size);
  return 0;
}
