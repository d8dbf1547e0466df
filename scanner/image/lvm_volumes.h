// LVM2 physical volumes as volume systems (issue 15): a PV found at the start of an image or of a
// partition (any type; MBR 0x8e and GPT E6D6D379-F507-44C2-A23C-238F2A3DF928 are LVM's) lists
// its volume group's logical volumes, each a volume of the image whose filesystem is opened like
// a partition's, through a VolumeLayer that maps the LV's extents onto the PV's bytes (read
// through the container image with tsk_img_read). lvm_metadata.h reads the PV.
//
// Names: the LVs of a PV are lv1, lv2, ... in the order the metadata lists them, prefixed by the
// partition holding the PV ("p2.lv1") when it is in one; their vg/lv names (printable characters
// only, lvm_metadata.h display_name) are in `partition_type`, "LVM2 logical volume vg0/root".
// Names from the metadata never reach flscan's paths.
//
// Outcomes, per LV: scanned; NOT SCANNED unsupported-image (a segment type other than linear or
// striped: thin, thin-pool, snapshot, mirror, raid*, cache, ...; a snapshot's copy-on-write
// store); NOT SCANNED unreadable-image (extents on another PV of the volume group, which the
// image does not hold; extents past the PV or the image; bad numbers; more segments than
// limits::kMaxLvmSegments); unknown-filesystem as for a partition. Skipped, not an error: a
// linear or striped LV without filesystem that holds Linux swap space ("SWAPSPACE2" at 4086), or
// that is hidden (no VISIBLE flag: a part of another LV, such as a raid image or a thin pool's
// data, which is reported itself); a hidden LV in which a filesystem opens is scanned. For the PV itself: NOT SCANNED
// unreadable-image when its label or metadata cannot be read; skipped when its volume group has no logical volume.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include <tsk/libtsk.h>

#include "scanner/image/image_layout.h"

namespace flscan::scanner::image {

// How image_layout.cpp probes a volume (the filesystem at base.offset of `img`, or the reason).
using VolumeProbe = std::function<VolumeLayout(TSK_IMG_INFO* img, ImageVolume base)>;

// Whether a partition type (TSK's MBR description, or gpt_partition_type's text) is LVM's.
[[nodiscard]] bool lvm_partition_type(std::string_view partition_type);

// Whether an LVM2 label lies in the four sectors from byte `offset` of `img`.
[[nodiscard]] bool has_lvm_label(TSK_IMG_INFO* img, std::uint64_t offset);

// The logical volumes of the PV that is the byte range pv.offset/pv.length of `img` (pv.name
// names it: "vol" for a whole image, "pN" for a partition), each probed with `probe`; or one
// volume for the PV saying why it has none. `budget`: how many more LVs this image may list (a
// table of many partitions all pointing at one PV must not multiply limits::kMaxLvmLogicalVolumes);
// the LVs past it are one error volume.
[[nodiscard]] std::vector<VolumeLayout> lvm_volumes(TSK_IMG_INFO* img, const ImageVolume& pv, const VolumeProbe& probe,
                                                    std::size_t& budget);

}  // namespace flscan::scanner::image
