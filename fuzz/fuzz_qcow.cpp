// Fuzz target: a qcow2 file (issue 15) detected and opened as flscan opens a PATH
// (image_layout.h detect_image: libqcow through the LibyalApi table, flscan's L1/L2 cluster
// lookup of libyal_chain.cpp), then its whole disk read through the TSK callback image, in
// pieces that cross cluster boundaries. The input is a memory file named by its /proc/self/fd
// path, so a backing file it names is looked up in /proc/self/fd, where every entry is a
// symbolic link: refused by image_files.h's rules, never followed.
//
// libqcow is not instrumented (a Debian library): memory errors inside it show only when they
// fault; flscan's lookup and what it does with what libqcow returns are checked by ASan and UBSan.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/memfd_input.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/image_source.h"

namespace {

namespace image = flscan::scanner::image;

// Bytes of the disk read per input (a crafted header can claim any size).
constexpr std::uint64_t kMaxBytesRead = 4u << 20;
constexpr std::size_t kPiece = 3 * 512 + 7;  // odd, so reads straddle clusters

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const flscan::fuzz::MemoryFileInput input(data, size);
  const image::Detection detection = image::detect_image(input.path(), image::ImageMode::detect);
  if (detection.kind != image::Detection::Kind::image) {
    if (detection.kind != image::Detection::Kind::not_image)
      FUZZ_CHECK(!detection.detail.empty(), "an image that is not read says why");
    return 0;
  }
  for (const image::VolumeLayout& volume : detection.layout.volumes) {
    if (volume.report.status == flscan::scanner::VolumeStatus::error)
      FUZZ_CHECK(!volume.report.detail.empty(), "a volume error says why");
  }
  // Every thread reopens the image this way (image_source.h).
  const image::ImgPtr img = image::open_source(detection.layout.source);
  if (!img) return 0;
  std::vector<char> buffer(kPiece);
  const std::uint64_t end = std::min<std::uint64_t>(static_cast<std::uint64_t>(img->size), kMaxBytesRead);
  for (std::uint64_t offset = 0; offset < end; offset += kPiece) {
    tsk_error_reset();
    const ssize_t got = tsk_img_read(img.get(), static_cast<TSK_OFF_T>(offset), buffer.data(), buffer.size());
    FUZZ_CHECK(got <= static_cast<ssize_t>(buffer.size()), "a read returns at most what was asked");
    if (got < 0) break;  // a damaged cluster: the image's reads report it
  }
  return 0;
}
