// Fuzz target: a qcow2 file (issue 15) detected and opened as flscan opens a PATH (libqcow through
// the LibyalApi table, flscan's L1/L2 cluster lookup of libyal_chain.cpp), then its whole disk
// read through the TSK callback image (fuzz/image_file_harness.h).
//
// libqcow is not instrumented (a Debian library): memory errors inside it show only when they
// fault; flscan's lookup and what it does with what libqcow returns are checked by ASan and UBSan.
#include <cstddef>
#include <cstdint>

#include "fuzz/image_file_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  flscan::fuzz::fuzz_image_file(data, size);
  return 0;
}
