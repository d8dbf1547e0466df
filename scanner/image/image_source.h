// How a disk image's bytes are opened: by any worker thread, as often as it needs (TSK handles are
// never shared between threads, tsk_handle.h; nor are libyal handles), always the same way the
// image was first opened.
//
// Every container ends up as one TSK_IMG_INFO, so partition tables, filesystems and file reads
// work the same on all of them: the formats The Sleuth Kit opens itself (raw, E01, fixed VHD,
// VMDK; split raw sets from their list of segments) through tsk_img_open, and the
// others through a callback image (tsk_handle.h, open_callback_image) whose reader is the
// container's library (libyal_chain.h: qcow2 with libqcow, VHDX with libvhdi; a dynamic or
// differencing VHD checked by libvhdi and its blocks read by flscan), with the chain of parent
// files found when the image was first opened.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <tsk/libtsk.h>

#include "scanner/image/libyal_chain.h"
#include "scanner/image/tsk_handle.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/private_link.h"
#include "scanner/walk/dir_handle.h"

namespace flscan::scanner::image {

// A disk image found during a directory walk (issue 15; nested_image.h): the very file the walk
// listed, opened by descriptor and held open for the whole scan. Nothing opens it by its path in the
// tree again: the libraries get `alias`, a symbolic link in a private directory (mode 0700, made by
// this process) to /proc/self/fd/N, named as the image is (libewf and libvmdk find the file's format,
// and libvmdk its extent, by that name; no other file is in that directory). Removed when released,
// or when SIGINT, SIGTERM or SIGHUP ends flscan (PrivateLink, scanner/platform/private_link.h).
struct HeldImage {
  HeldImage() = default;
  HeldImage(const HeldImage&) = delete;
  HeldImage& operator=(const HeldImage&) = delete;
  ~HeldImage();

  Fd file;  // the image, opened O_NOFOLLOW relative to `directory`, checked against the listing
  // What the libraries open: link->path(), "<private dir>/<name>" -> /proc/self/fd/<file>.
  std::unique_ptr<PrivateLink> link;
  std::string alias;
  std::string walk_path;  // how the report names it (the PATH joined with the names below it)
  std::string shard_key;  // its walk key (shard.h); its files' keys are `shard_key:pN/path`
  // The directory the walk found it in, as the walk holds it (dir_handle.h: leased, re-opened only
  // under the identity checks). Files an image names (a parent disk, a segment) are looked up here,
  // by name, relative to a lease on it; never by a path.
  std::shared_ptr<DirHandle> directory;
  // For a format whose image may name other files (qcow2, VHD, VHDX, a split raw segment): a
  // descriptor of that directory held for the scan, registered so that the files the image names
  // are looked up in it as "/proc/self/fd/N/name" (image_files.h, set_sibling_directory).
  Fd sibling_directory;
};

enum class ImageOpener {
  tsk,            // tsk_img_open of `path` as `tsk_type`
  split_raw,      // tsk_img_open of `files`, the segments in order
  qcow,           // libqcow: `files` is the chain, the image named as PATH first, then its backing files
  qcow_over_raw,  // the same, the last backing file a raw disk (libyal_chain.h, open_qcow_chain)
  vhdi,           // libvhdi (VHDX): `files` is the chain, the image named as PATH first, then its parents
  vhd,            // a dynamic or differencing VHD: `files` as for vhdi, read by flscan (open_vhd_chain)
};

struct ImageSource {
  std::string path;                                  // the file or block device, as given
  TSK_IMG_TYPE_ENUM tsk_type = TSK_IMG_TYPE_DETECT;  // the container type TSK opened it as
  // Set for an image found during a walk: `path` is then held->alias.
  std::shared_ptr<const HeldImage> held;
  ImageOpener opener = ImageOpener::tsk;
  // The files the image is made of, in order (the parent chain or the segments); empty for tsk.
  std::vector<std::string> files;
  // The container's name in the report ("qcow2", "vhdx", "vhd", "raw-split"); empty: TSK's name.
  std::string format;
  // vhd: the chain's tables, read once when the image was first opened and shared by every
  // thread's reader (libyal_chain.h, load_vhd_chain); null: read when opened.
  std::shared_ptr<const VhdChain> vhd = nullptr;
};

// The image `source` describes, opened on the calling thread; null with TSK's error set
// (tsk_error_text) when it cannot be opened.
[[nodiscard]] ImgPtr open_source(const ImageSource& source);

}  // namespace flscan::scanner::image
