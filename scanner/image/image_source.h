// How a disk image's bytes are opened: by any worker thread, as often as it needs (TSK handles are
// never shared between threads, tsk_handle.h), always the same way the image was first opened.
//
// Every container ends up as one TSK_IMG_INFO, so partition tables, filesystems and file reads
// work the same on all of them: the formats The Sleuth Kit opens itself (raw and split raw, E01,
// VHD, VMDK) through tsk_img_open, and the others through a callback image
// (tsk_handle.h, open_callback_image) whose reader is the container's library.
#pragma once

#include <string>

#include <tsk/libtsk.h>

#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {

struct ImageSource {
  std::string path;                                  // the file or block device, as given
  TSK_IMG_TYPE_ENUM tsk_type = TSK_IMG_TYPE_DETECT;  // the container type TSK opened it as
};

// The image `source` describes, opened on the calling thread; null with TSK's error set
// (tsk_error_text) when it cannot be opened.
[[nodiscard]] ImgPtr open_source(const ImageSource& source);

}  // namespace flscan::scanner::image
