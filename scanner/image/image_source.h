// How a disk image's bytes are opened: by any worker thread, as often as it needs (TSK handles are
// never shared between threads, tsk_handle.h; nor are libyal handles), always the same way the
// image was first opened.
//
// Every container ends up as one TSK_IMG_INFO, so partition tables, filesystems and file reads
// work the same on all of them: the formats The Sleuth Kit opens itself (raw, E01, fixed and
// dynamic VHD, VMDK; split raw sets from their list of segments) through tsk_img_open, and the
// others through a callback image (tsk_handle.h, open_callback_image) whose reader is the
// container's library (libyal_chain.h: qcow2 with libqcow, VHDX and differencing VHD/VHDX with
// libvhdi), with the chain of parent files found when the image was first opened.
#pragma once

#include <string>
#include <vector>

#include <tsk/libtsk.h>

#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {

enum class ImageOpener {
  tsk,            // tsk_img_open of `path` as `tsk_type`
  split_raw,      // tsk_img_open of `files`, the segments in order
  qcow,           // libqcow: `files` is the chain, the image named as PATH first, then its backing files
  qcow_over_raw,  // the same, the last backing file a raw disk (libyal_chain.h, open_qcow_chain)
  vhdi,           // libvhdi: `files` is the chain, the image named as PATH first, then its parents
};

struct ImageSource {
  std::string path;                                  // the file or block device, as given
  TSK_IMG_TYPE_ENUM tsk_type = TSK_IMG_TYPE_DETECT;  // the container type TSK opened it as (opener tsk)
  ImageOpener opener = ImageOpener::tsk;
  // The files the image is made of, in order (the parent chain or the segments); empty for tsk.
  std::vector<std::string> files;
  // The container's name in the report ("qcow2", "vhdx", "vhd", "raw-split"); empty: TSK's name.
  std::string format;
};

// The image `source` describes, opened on the calling thread; null with TSK's error set
// (tsk_error_text) when it cannot be opened.
[[nodiscard]] ImgPtr open_source(const ImageSource& source);

}  // namespace flscan::scanner::image
