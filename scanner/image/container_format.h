// Which disk-image container or volume format a file's bytes are, recognised before deciding what
// the file is (issue 15): a format flscan opens goes to The Sleuth Kit as an image, and one it
// cannot open yet must be reported NOT SCANNED naming the format, never passed off as one plain
// file that is clean.
//
// Recognition is by the signatures the formats' own specifications put at fixed places, all in the
// first 4 KiB or the last 512 bytes, so one read of each end decides:
//   opened by flscan: E01 ("EVF\t\r\n\xff\0" at 0), a fixed VHD ("conectix" in the last 512
//     bytes) and VMDK ("KDMV" sparse extent, "COWD" ESX extent, "# Disk DescriptorFile"
//     descriptor) through TSK; VHDX ("vhdxfile" at 0) through libvhdi; a dynamic VHD ("conectix" at
//     0) and a differencing one (disk type 4 in the footer; the parent named from its dynamic
//     header) checked by libvhdi, their blocks read by flscan (libyal_chain.h, issue 19);
//     qcow2 ("QFI\xfb" and a big-endian version 2 or 3 at 4) through libqcow (issue 15); an LVM2
//     physical volume ("LABELONE" at the start of one of the first four 512-byte sectors with
//     "LVM2 001" at +0x18 of that label; TSK opens it raw, lvm_volumes.h lists its volumes), and a
//     bare LUKS1/LUKS2 volume ("LUKS\xba\xbe" and a big-endian version 1 or 2 at 6: an image of one
//     encrypted volume, encrypted_volume.h);
//   not opened: qcow version 1 or an unknown version ("QFI\xfb"), QED ("QED\0"),
//     VirtualBox VDI (0xBEDA107F little-endian at 0x40), Parallels ("WithoutFreeSpace" or
//     "WithouFreSpacExt" at 0), AFF ("AFF10\r\n\0" at 0), EnCase L01 logical evidence
//     ("LVF\t\r\n\xff\0") and Apple DMG/UDIF ("koly" at the start of the last 512 bytes).
// A signature counts only in a file long enough to hold its format's header (72 bytes for qcow2,
// 592 for LUKS1, 4 KiB for VHDX, a sector for the others; a VMDK descriptor must also declare its
// createType), so a few magic bytes alone do not make a file an image.
// Raw disks (partition tables, bare filesystems, BitLocker) have no container signature: they are
// the image layout's concern (image_layout.cpp), confirmed by TSK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/byte_view.h"

namespace flscan::scanner::image {

// The bytes recognition needs: at most this much of the start of the file.
inline constexpr std::size_t kContainerHeadBytes = 4096;
// And this much of its end (the fixed VHD footer, the DMG trailer).
inline constexpr std::size_t kContainerTailBytes = 512;

enum class ContainerSupport {
  opened,       // flscan opens it (through The Sleuth Kit, libqcow or libvhdi; an LVM2 PV as a raw image)
  unsupported,  // recognised, but flscan cannot open it (yet): NOT SCANNED, naming the format
};

struct ContainerFormat {
  std::string name;  // "qcow2", "VHD", "LVM2 physical volume", ...
  ContainerSupport support = ContainerSupport::unsupported;
  std::string evidence;  // what was seen where, e.g. "\"QFI\\xfb\" version 3 at offset 0"
  bool at_end = false;   // recognised from the file's last bytes (a fixed VHD's footer, a DMG trailer)
};

// The format `head` (the file's first bytes, up to kContainerHeadBytes) and `tail` (its last
// bytes, up to kContainerTailBytes; empty when the file is shorter than two of them) show, if
// any. A file starting with "MZ" is never a container.
[[nodiscard]] std::optional<ContainerFormat> recognise_container(ByteView head, ByteView tail);

// The NOT SCANNED details of a file in such a format: one flscan cannot open (unsupported-image),
// and one it opens as PATH but met inside a scanned directory or disk image (image-not-opened).
[[nodiscard]] std::string unsupported_detail(const ContainerFormat& format);
[[nodiscard]] std::string not_opened_detail(const ContainerFormat& format);

}  // namespace flscan::scanner::image
