// The body of the fuzz targets whose input is a container file flscan reads itself (fuzz_qcow,
// fuzz_vhd): the file (a memory file named by its /proc/self/fd path) detected and opened as a
// PATH (image_layout.h detect_image), reopened as every worker thread reopens it
// (image_source.h open_source), and its disk read whole (up to 4 MiB) in pieces that straddle
// sectors, clusters and blocks. A parent (backing) file it names is looked up in /proc/self/fd,
// where every entry is a symbolic link: refused by image_files.h's rules, never followed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "fuzz/memfd_input.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/image_source.h"

namespace flscan::fuzz {

inline void fuzz_image_file(const std::uint8_t* data, std::size_t size) {
  namespace image = flscan::scanner::image;
  // Bytes of the disk read per input (a crafted header can claim any size).
  constexpr std::uint64_t kMaxBytesRead = 4u << 20;
  constexpr std::size_t kPiece = 3 * 512 + 7;  // odd, so reads straddle sectors, clusters and blocks
  const MemoryFileInput input(data, size);
  const image::Detection detection = image::detect_image(input.path(), image::ImageMode::detect);
  if (detection.kind != image::Detection::Kind::image) {
    if (detection.kind != image::Detection::Kind::not_image)
      FUZZ_CHECK(!detection.detail.empty(), "an image that is not read says why");
    return;
  }
  for (const image::VolumeLayout& volume : detection.layout.volumes) {
    if (volume.report.status == flscan::scanner::VolumeStatus::error)
      FUZZ_CHECK(!volume.report.detail.empty(), "a volume error says why");
  }
  const image::ImgPtr img = image::open_source(detection.layout.source);
  if (!img) return;
  std::vector<char> buffer(kPiece);
  const std::uint64_t end = std::min<std::uint64_t>(static_cast<std::uint64_t>(img->size), kMaxBytesRead);
  for (std::uint64_t offset = 0; offset < end; offset += kPiece) {
    tsk_error_reset();
    const ssize_t got = tsk_img_read(img.get(), static_cast<TSK_OFF_T>(offset), buffer.data(), buffer.size());
    FUZZ_CHECK(got <= static_cast<ssize_t>(buffer.size()), "a read returns at most what was asked");
    if (got < 0) {
      const char* error = tsk_error_get();
      FUZZ_CHECK(error != nullptr && *error != '\0', "a failed read says why");
      break;  // a damaged cluster or block: the image's reads report it
    }
  }
}

}  // namespace flscan::fuzz
