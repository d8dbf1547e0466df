#include "scanner/image/container_format.h"

#include <array>
#include <span>

namespace flscan::scanner::image {
namespace {

using namespace std::string_view_literals;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The signature `literal` at `offset`, in a head long enough to hold the format's whole header
// (`header_bytes`): a few magic bytes alone, in a file too short to be the format, are not it.
bool signature(ByteView head, std::size_t offset, std::string_view literal, std::size_t header_bytes) {
  return head.size() >= header_bytes && head.equals_at(offset, literal);
}

// Header sizes from the formats' specifications.
constexpr std::size_t kSectorHeader = 512;     // VHD footer copy, VMDK sparse header, VDI header, E01/L01 sections
constexpr std::size_t kQcowHeader = 72;        // qcow2 version 2 header (version 3: 104; qcow: 48)
constexpr std::size_t kQedHeader = 64;         // QED header
constexpr std::size_t kParallelsHeader = 64;   // Parallels header
constexpr std::size_t kLuks1Header = 592;      // LUKS1 phdr (LUKS2's binary header is 4096)
constexpr std::size_t kVhdxIdentifier = 4096;  // VHDX file type identifier region (64 KiB; its first 4 KiB here)

ContainerFormat opened(std::string name, std::string evidence) {
  return {std::move(name), ContainerSupport::opened, std::move(evidence)};
}
ContainerFormat unsupported(std::string name, std::string evidence) {
  return {std::move(name), ContainerSupport::unsupported, std::move(evidence)};
}

// VHD (Microsoft's Virtual Hard Disk Image Format Specification): the footer's disk type, a
// big-endian u32 at 60, is 4 for a differencing disk, whose dynamic header ("cxsparse", at the
// footer's data offset, a big-endian u64 at 16) names the parent in UTF-16BE at +64 (256 units).
constexpr std::size_t kVhdDiskType = 60;
constexpr std::uint32_t kVhdDifferencing = 4;
constexpr std::size_t kVhdDataOffset = 16;
constexpr std::size_t kVhdParentName = 64;
constexpr std::size_t kVhdParentNameUnits = 256;

// The parent's name as printable ASCII ('?' for anything else), at most 256 characters.
std::string vhd_parent_name(ByteView header) {
  std::string name;
  for (std::size_t unit = 0; unit < kVhdParentNameUnits; ++unit) {
    const auto value = header.u16be(kVhdParentName + 2 * unit);
    if (!value || *value == 0) break;
    name += *value >= 0x20 && *value < 0x7f ? static_cast<char>(*value) : '?';
  }
  return name;
}

// A differencing VHD: its blocks live partly in its parent (issue 15; read by flscan, libyal_chain.h).
std::optional<ContainerFormat> differencing_vhd(ByteView head) {
  if (head.u32be(kVhdDiskType) != kVhdDifferencing) return std::nullopt;
  std::string evidence = "\"conectix\" footer copy at offset 0, disk type 4 (differencing)";
  const auto high = head.u32be(kVhdDataOffset);
  const auto low = head.u32be(kVhdDataOffset + 4);
  if (high == 0u && low) {
    if (const auto header = head.sub(*low, kSectorHeader); header && header->equals_at(0, "cxsparse"sv))
      evidence += ", parent \"" + vhd_parent_name(*header) + "\"";
  }
  return opened("differencing VHD", evidence);
}

// LVM2 writes its label into one of the first four sectors (lvm2's label.c scans them).
constexpr std::size_t kLvmLabelSectors = 4;
constexpr std::size_t kSector = 512;

std::optional<ContainerFormat> opened_format(ByteView head, ByteView tail) {
  if (signature(head, 0, "EVF\x09\x0d\x0a\xff\x00"sv, kSectorHeader))
    return opened("E01", "\"EVF\" signature at offset 0");
  if (signature(head, 0, "conectix"sv, kSectorHeader)) {
    if (auto differencing = differencing_vhd(head)) return differencing;
    return opened("VHD", "\"conectix\" footer copy at offset 0");
  }
  if (signature(head, 0, "vhdxfile"sv, kVhdxIdentifier)) return opened("VHDX", "\"vhdxfile\" at offset 0");
  if (signature(head, 0, "KDMV"sv, kSectorHeader)) return opened("VMDK", "sparse extent \"KDMV\" at offset 0");
  if (signature(head, 0, "COWD"sv, kSectorHeader)) return opened("VMDK", "ESX extent \"COWD\" at offset 0");
  // A descriptor is text: its first line, and the createType every descriptor declares.
  if (head.equals_at(0, "# Disk DescriptorFile"sv) && head.find(as_bytes("createType="))) {
    return opened("VMDK", "descriptor \"# Disk DescriptorFile\" with a createType");
  }
  // A volume system rather than a container: the image layout lists its logical volumes.
  for (std::size_t sector = 0; sector < kLvmLabelSectors; ++sector) {
    const std::size_t label = sector * kSector;
    if (head.contains(label, kSector) && head.equals_at(label, "LABELONE"sv) &&
        head.equals_at(label + 0x18, "LVM2 001"sv)) {
      return opened("LVM2 physical volume", "\"LABELONE\" and \"LVM2 001\" in sector " + std::to_string(sector));
    }
  }
  if (signature(head, 0, "QFI\xfb"sv, kQcowHeader)) {
    const auto version = head.u32be(4);
    if (version == 2u || version == 3u)
      return opened("qcow2", "\"QFI\\xfb\" version " + std::to_string(*version) + " at offset 0");
  }
  // A bare LUKS volume: an image of one encrypted volume (encrypted_volume.h), opened with a key.
  if (signature(head, 0, "LUKS\xba\xbe"sv, kLuks1Header)) {
    const auto version = head.u16be(6);
    if (version && (*version == 1 || *version == 2)) {
      return opened("LUKS" + std::to_string(*version) + " encrypted volume",
                    "\"LUKS\\xba\\xbe\" version " + std::to_string(*version) + " at offset 0");
    }
  }
  if (tail.size() == kContainerTailBytes && tail.equals_at(0, "conectix"sv)) {
    ContainerFormat fixed = opened("VHD", "\"conectix\" footer in the last 512 bytes");
    fixed.at_end = true;
    return fixed;
  }
  return std::nullopt;
}

std::optional<ContainerFormat> unsupported_format(ByteView head, ByteView tail) {
  if (signature(head, 0, "QFI\xfb"sv, kQcowHeader)) {
    const auto version = head.u32be(4);
    if (version == 1u) return unsupported("qcow", "\"QFI\\xfb\" version 1 at offset 0");
    return unsupported("qcow (unknown version)", "\"QFI\\xfb\" at offset 0, version " +
                                                     (version ? std::to_string(*version) : std::string("missing")));
  }
  if (signature(head, 0, "QED\0"sv, kQedHeader)) return unsupported("QED", "\"QED\\0\" at offset 0");
  if (head.size() >= kSectorHeader && head.u32le(0x40) == 0xBEDA107Fu)
    return unsupported("VDI (VirtualBox)", "signature 0xBEDA107F at offset 0x40");
  if (signature(head, 0, "WithoutFreeSpace"sv, kParallelsHeader) ||
      signature(head, 0, "WithouFreSpacExt"sv, kParallelsHeader))
    return unsupported("Parallels HDD", "Parallels signature at offset 0");
  if (signature(head, 0, "AFF10\r\n\0"sv, kSectorHeader)) return unsupported("AFF", "\"AFF10\" at offset 0");
  if (signature(head, 0, "LVF\x09\x0d\x0a\xff\x00"sv, kSectorHeader))
    return unsupported("L01 (EnCase logical evidence)", "\"LVF\" signature at offset 0");
  if (tail.size() == kContainerTailBytes && tail.equals_at(0, "koly"sv)) {
    ContainerFormat dmg = unsupported("DMG (Apple UDIF)", "\"koly\" trailer in the last 512 bytes");
    dmg.at_end = true;
    return dmg;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ContainerFormat> recognise_container(ByteView head, ByteView tail) {
  if (head.equals_at(0, "MZ"sv)) return std::nullopt;
  if (auto format = opened_format(head, tail)) return format;
  return unsupported_format(head, tail);
}

std::string unsupported_detail(const ContainerFormat& format) {
  return format.name + " (" + format.evidence + "): flscan cannot open this format yet, so none of its files were read";
}

std::string not_opened_detail(const ContainerFormat& format) {
  return format.name + " disk image (" + format.evidence +
         ") found inside a scanned directory or disk image: its files were not read; name it as a PATH to scan them";
}

}  // namespace flscan::scanner::image
