// A volume whose bytes are not a plain byte range of its image: a logical volume mapped from
// extents, or an encrypted volume read through its decryption. The layer opens the volume as an
// image of its own (a TSK callback image, tsk_handle.h) that reads through the container image, so
// the filesystem inside opens and reads exactly like a partition's.
#pragma once

#include <string>

#include <tl/expected.hpp>
#include <tsk/libtsk.h>

#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {

class VolumeLayer {
 public:
  virtual ~VolumeLayer() = default;
  // The volume's bytes as an image, reading through `container` (opened on the calling thread,
  // and kept open by the caller for as long as the returned image), or why it cannot be opened.
  // Called once per thread that reads the volume: it must not share handles between calls.
  [[nodiscard]] virtual tl::expected<ImgPtr, std::string> open(TSK_IMG_INFO* container) const = 0;
};

}  // namespace flscan::scanner::image
