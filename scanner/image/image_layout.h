// Is a PATH operand a disk image, and what volumes does it hold?
//
// Detection is by content and conservative, so that a regular file that is not an image is
// scanned as a file exactly as before:
//  - a file starting with "MZ" is never an image (unless --image says so);
//  - a container signature (E01 "EVF\x09\x0d\x0a\xff\x00", VHD "conectix" footer or header, VHDX
//    "vhdxfile", VMDK "KDMV"/"COWD" or a "# Disk DescriptorFile" text, qcow2 "QFI\xfb" version 2
//    or 3) makes it an image: if it then cannot be opened, it is reported NOT SCANNED
//    (unreadable-image) rather than passed off as a clean file. qcow2 (libqcow), VHDX, dynamic and
//    differencing VHD (libvhdi) are opened with their chain of parent files (libyal_chain.h,
//    image_files.h: beside the image, by name); the others by TSK;
//  - a split raw set (split_raw.h) named by its first segment is opened as one disk when that
//    segment is a raw candidate (below) or with --image; a hole in the set is unreadable-image, a
//    later segment named alone unsupported-image;
//  - a container or volume format flscan cannot open (qcow version 1, VDI, DMG, ...;
//    container_format.h) is NOT SCANNED unsupported-image naming the format, with --image too;
//  - a raw candidate (0x55AA at offset 510, or "EFI PART" at 512) is an image only when TSK
//    confirms it: a partition table with at least one allocated partition, an NTFS or FAT
//    filesystem at offset 0, or an encrypted volume's signature at offset 0 (BitLocker "-FVE-FS-",
//    BitLocker To Go's discovery-volume GUID at 0x1A8, LUKS).
// --image (ImageMode::forced) skips the content test: the operand is opened as an image and every
// failure is reported for it. A block device named as PATH is a disk and is opened the same way
// without --image (issue 12); FIFOs, sockets and character devices are never opened here (the
// walk reports them NOT SCANNED special-file).
//
// Volumes: the allocated partitions (TSK_VS_PART_FLAG_ALLOC) of the volume system TSK finds (MBR
// with extended partitions, GPT), named p1, p2, ... in start-offset order; an image with no
// partition table (a bare filesystem) is one volume "vol" at offset 0. An LVM2 physical volume, bare or in a
// partition, is a volume system of its own: its logical volumes are volumes lv1, lv2 ... (pN.lv1 ...
// inside partition pN), read through a VolumeLayer (lvm_volumes.h). Each volume is opened with
// TSK (any filesystem it knows; NTFS and FAT are the ones tested). A volume that cannot be opened
// gets status error with a reason (encrypted-volume, key-rejected, unknown-filesystem,
// unreadable-image); an encrypted volume a key given opens is scanned through its decryption
// (encrypted_volume.h); a
// partition whose type holds no files (Microsoft reserved, BIOS boot, swap) and that has no
// filesystem and no boot signature (0x55AA) in its first sector is skipped, which does not make
// the scan incomplete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>
#include <tsk/libtsk.h>

#include "scanner/image/image_source.h"
#include "scanner/image/tsk_handle.h"
#include "scanner/image/volume_layer.h"
#include "scanner/report/report.h"

namespace flscan::scanner::image {

enum class ImageMode { detect, forced };

struct VolumeLayout {
  ImageVolume report;                             // what the report says about it
  TSK_FS_TYPE_ENUM fs_type = TSK_FS_TYPE_DETECT;  // the filesystem TSK opened (status scanned)
  // Null: the volume is the byte range report.offset/report.length of the image. Otherwise the
  // layer that maps or decrypts it (volume_layer.h); report.offset is then where it starts.
  std::shared_ptr<const VolumeLayer> layer;
};

struct ImageLayout {
  std::string path;        // the image's name in the report (the PATH operand as given)
  ImageSource source;      // how to open it again, on any thread
  std::uint64_t size = 0;  // bytes of the image's content
  std::vector<VolumeLayout> volumes;
};

// A volume's filesystem opened on the calling thread, with the image it was opened on when the
// volume has a layer. `layer` is declared first, so it is destroyed after `fs`.
struct OpenedVolume {
  ImgPtr layer;
  FsPtr fs;
};

// The filesystem of `volume` (status scanned: its fs_type is known), opened in `container`, the
// volume's image opened on this thread (open_source), through the volume's layer if it has one;
// TSK's (or the layer's) reason when it cannot be opened.
[[nodiscard]] tl::expected<OpenedVolume, std::string> open_volume_filesystem(TSK_IMG_INFO* container,
                                                                             const VolumeLayout& volume);

struct Detection {
  enum class Kind {
    not_image,    // scan the operand as before (a file or a directory)
    image,        // `layout` holds its volumes
    unreadable,   // an image that TSK cannot open: NOT SCANNED unreadable-image with `detail`
    unsupported,  // a container or volume format flscan cannot open: NOT SCANNED unsupported-image
  };
  Kind kind = Kind::not_image;
  ImageLayout layout;
  std::string detail;
};

// Examines the PATH operand `path` (as given; followed if a symlink). Directories, missing paths
// and other non-regular files are not images, except block devices, which always are.
// Never throws for bad content.
[[nodiscard]] Detection detect_image(const std::string& path, ImageMode mode);

// The volumes of an image already open on this thread (the fuzz target's image in memory), as
// detect_image finds them for a container or a forced image; `path` names it in the report.
[[nodiscard]] ImageLayout layout_of(TSK_IMG_INFO* img, const std::string& path);

}  // namespace flscan::scanner::image
