// Disk images met during a directory walk (issue 15): a file of a scanned directory that is a disk
// image is opened and scanned as if it were named as a PATH (image_layout.h), its files named
// `DIR/snap.vhd:p1/path/in/volume`, unless --no-nested-images.
//
// Deciding costs nothing for an ordinary file: the walk reads every file's first 4 KiB anyway
// (file_reader.h), and only a file whose first bytes are a candidate goes further:
//  - a container signature recognised from the head (container_format.h: E01, VHD dynamic or
//    differencing, VHDX, VMDK, and the formats flscan cannot open, which stay unsupported-image);
//  - a raw candidate: at least limits::kMinNestedImageBytes, not "MZ", and either "EFI PART" at
//    512 (GPT), or 0x55AA at 510 with an NTFS, exFAT or BitLocker boot sector ("NTFS    ",
//    "EXFAT   " or "-FVE-FS-" at 3), a
//    FAT boot sector (a jump at 0, a power-of-two sector size, a FAT type string), or an MBR
//    partition entry that is in use (status 0x00 or 0x80, a type, a start and a length). Such a
//    file is an image only when The Sleuth Kit then confirms it, exactly as for a PATH (a partition
//    table with an allocated partition, an NTFS/FAT filesystem at 0, an encrypted volume);
//    otherwise it is scanned as the plain file it is. A fixed VHD (footer at the end only) is
//    such a raw disk: its footer is read only then.
// A file's tail is never read for the test, and no other file is opened by TSK.
//
// Opening: the file is opened again with openat(directory descriptor, name, O_NOFOLLOW) relative
// to the descriptor of the directory the walk listed it in (no path is resolved again), and must be
// the regular file (st_dev, st_ino) the listing saw, else NOT SCANNED replaced. That descriptor is
// held for the whole scan (HeldImage, image_source.h); the libraries open it through an alias,
// /proc/self/fd/N, never through its path in the tree.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <tl/expected.hpp>

#include "engine/byte_view.h"
#include "scanner/image/container_format.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/image_source.h"
#include "scanner/walk/file_reader.h"
#include "scanner/walk/walker.h"

namespace flscan::scanner::image {

// What a file's sniffed head says about it being a disk image.
struct ImageCandidate {
  std::optional<ContainerFormat> container;  // a container signature in the head
  bool raw = false;                          // a raw candidate (see above), TSK to confirm
  bool too_small = false;                    // a container signature, but below kMinNestedImageBytes
  [[nodiscard]] bool any() const { return container.has_value() || raw; }
};

// The test above on `head` (the file's first bytes, as sniffed) and its size.
[[nodiscard]] ImageCandidate image_candidate(ByteView head, std::uint64_t size);

// `entry` opened relative to `dir_fd` (a lease on entry.dir) with O_NOFOLLOW (a link only when the
// walk followed it, -L), checked to be the file the listing saw, and given its alias. The error is
// the NOT SCANNED reason and detail for the file.
[[nodiscard]] tl::expected<std::shared_ptr<const HeldImage>, ReadError> hold_walk_file(int dir_fd,
                                                                                       const FileEntry& entry);

// detect_image (image_layout.h) on the held file, through its alias; an image's layout, volumes
// and details name it by its walk path, and its source keeps the descriptor held.
[[nodiscard]] Detection detect_held_image(const std::shared_ptr<const HeldImage>& held);

// NOT SCANNED details of a disk image met during a walk that is not opened (image-not-opened):
// inside another disk image (images inside images are reported, not opened); a container below
// limits::kMinNestedImageBytes; --no-nested-images (`what`: the format and its evidence); more than
// limits::kMaxNestedImages in the walk.
[[nodiscard]] std::string inside_image_detail(const ContainerFormat& format);
[[nodiscard]] std::string too_small_detail(const ContainerFormat& format);
[[nodiscard]] std::string option_detail(const std::string& what);
[[nodiscard]] std::string too_many_detail();
// "raw disk image (volumes p1, p2)": what TSK found in an image without a container signature.
[[nodiscard]] std::string raw_image_description(const ImageLayout& layout);

}  // namespace flscan::scanner::image
