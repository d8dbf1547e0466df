// An LVM2 physical volume read without lvm2 (issue 15): its label, its metadata area, the volume
// group's metadata text, and each logical volume's extents as byte ranges of this PV.
//
// The on-disk format is lvm2's: lib/label/label.h (label_header: "LABELONE" in one of the first
// four 512-byte sectors, its sector number, a CRC of the rest of the sector, the offset of the
// pv_header, "LVM2 001"), lib/format_text/layout.h (pv_header: the PV's id, the device size, the
// data areas and the metadata areas as {offset, size} u64 lists ended by a zero pair; mda_header
// at the start of a metadata area: checksum, FMTT_MAGIC " LVM2 x[5A%r0N*>", version 1, start,
// size, raw_locn {offset, size, checksum, flags} of the committed text, which may wrap round the
// circular buffer to just after the header), lib/misc/crc.c (CRC-32 from 0xf597a6cf without
// final inversion), lib/config/config.c and lib/format_text/import_vsn1.c (the text: sections
// `name { ... }`, `key = value`, arrays `[ ... ]`, strings, numbers, `#` comments). The libyal
// libvslvm format documentation describes the same.
//
// libvslvm (Debian 20181227) is not used: it refuses the whole volume group when any logical
// volume is striped over two or more stripes (its stripes list parser rejects the comma lvm2
// writes after each stripe), cannot open a logical volume with two segments on the same PV
// ("physical volume value already set"), and ignores each segment's type, so a thin, snapshot,
// mirror, raid or cache LV cannot be told from a linear one.
//
// Only linear and striped segments ("striped", stripe_count 1 or more) are mapped; any other type
// makes the LV unsupported, naming the type. Every loop and allocation the PV drives has a cap in
// limits.h (metadata bytes, configuration nodes and depth, PVs, LVs, segments, stripes).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace flscan::scanner::image::lvm {

inline constexpr std::uint64_t kSectorBytes = 512;
// lvm2 looks for the label in the first four sectors (lib/label/label.c, LABEL_SCAN_SECTORS).
inline constexpr std::uint64_t kLabelSectors = 4;

// Reads `out.size()` bytes at `offset` from the start of the PV; false when they cannot all be read.
using PvReader = std::function<bool(std::uint64_t offset, std::span<std::uint8_t> out)>;

// Whether the first kLabelSectors sectors (`head`, as many as were read) hold an LVM2 label.
[[nodiscard]] bool has_label(std::span<const std::uint8_t> head);

// lvm2's calc_crc (lib/misc/crc.c).
[[nodiscard]] std::uint32_t calc_crc(std::uint32_t initial, std::span<const std::uint8_t> data);

struct PhysicalVolumeHeader {
  std::string id;                 // the pv_header's 32-character id
  std::uint64_t device_size = 0;  // bytes, as pvcreate recorded it
  std::string text;               // the volume group's metadata text, NULs at the end removed
};

// The label, the first readable metadata area and its committed metadata text; why not, when the
// PV cannot be read or is damaged.
[[nodiscard]] tl::expected<PhysicalVolumeHeader, std::string> read_physical_volume(const PvReader& read);

// What stops a logical volume from being read.
enum class LvProblem {
  none,
  unsupported,  // a segment type other than striped/linear, a snapshot's store: unsupported-image
  unreadable,   // extents on a PV not in the image, past the PV, bad numbers, caps: unreadable-image
};

// One stretch of a logical volume: `length` bytes from `lv_offset`, spread over its stripes in
// chunks of `stripe_bytes` (one stripe: linear, stripe_bytes == length). Stripe offsets are bytes
// from the start of this PV.
struct Segment {
  std::uint64_t lv_offset = 0;
  std::uint64_t length = 0;
  std::uint64_t stripe_bytes = 0;
  std::vector<std::uint64_t> stripes;
};

struct LogicalVolume {
  std::string name;  // as the metadata gives it, made printable (display_name)
  std::uint64_t size = 0;
  std::vector<Segment> segments;  // contiguous, in LV order; empty when `problem` is set
  LvProblem problem = LvProblem::none;
  bool hidden = false;  // no VISIBLE flag: a part of another LV (raid image, thin pool data, ...)
  std::string detail;   // why, when `problem` is set
};

struct VolumeGroup {
  std::string name;
  std::uint64_t extent_bytes = 0;
  std::vector<LogicalVolume> lvs;  // metadata order, at most limits::kMaxLvmLogicalVolumes
  bool more_lvs = false;           // the metadata lists more (the rest are not examined)
};

// The volume group in `text`, with every LV mapped onto the PV whose id is `pv_id` and whose size
// is `pv_bytes` (what the image holds of it); why not, when the text is not LVM2 metadata.
[[nodiscard]] tl::expected<VolumeGroup, std::string> parse_volume_group(std::string_view text, std::string_view pv_id,
                                                                        std::uint64_t pv_bytes);

// A name from the metadata as printed in reports: lvm2's name characters [A-Za-z0-9+_.-] kept,
// anything else '?', at most 128 characters (LVM's limit is 127).
[[nodiscard]] std::string display_name(std::string_view name);

// The PV byte offset of `lv_offset` inside `segment`, and how many bytes from there are
// contiguous on the PV (to the end of the chunk or segment).
struct Mapped {
  std::uint64_t pv_offset = 0;
  std::uint64_t contiguous = 0;
};
[[nodiscard]] Mapped map_offset(const Segment& segment, std::uint64_t lv_offset);

}  // namespace flscan::scanner::image::lvm
