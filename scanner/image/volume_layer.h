// A volume whose bytes are not a plain byte range of its image: a logical volume mapped from
// extents, or an encrypted volume read through its decryption. The layer opens the volume as an
// image of its own (a TSK callback image, tsk_handle.h) that reads through the container image, so
// the filesystem inside opens and reads exactly like a partition's.
#pragma once

#include <memory>
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
  // Called once per thread that reads the volume: the images it returns share no TSK handle; a
  // library handle they share (a BitLocker volume's libbde handle, unlocked once: issue 19) is
  // used under the layer's own lock.
  [[nodiscard]] virtual tl::expected<ImgPtr, std::string> open(TSK_IMG_INFO* container) const = 0;
};

// A layer inside a layer: `inner` (a decrypted volume) read through `outer` (the logical volume
// that holds it). Its image owns the outer one for as long as it is open.
[[nodiscard]] std::shared_ptr<const VolumeLayer> stack_layers(std::shared_ptr<const VolumeLayer> outer,
                                                              std::shared_ptr<const VolumeLayer> inner);

}  // namespace flscan::scanner::image
