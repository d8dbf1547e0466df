#include "scanner/image/container_format.h"

#include <array>

namespace flscan::scanner::image {
namespace {

using namespace std::string_view_literals;

// A big-endian unsigned value of `width` bytes at `offset` (qcow and LUKS headers are big-endian).
std::optional<std::uint32_t> big_endian(ByteView bytes, std::size_t offset, std::size_t width) {
  if (!bytes.contains(offset, width)) return std::nullopt;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value = (value << 8) | *bytes.u8(offset + i);
  return value;
}

ContainerFormat opened(std::string name, std::string evidence) {
  return {std::move(name), ContainerSupport::opened, std::move(evidence)};
}
ContainerFormat unsupported(std::string name, std::string evidence) {
  return {std::move(name), ContainerSupport::unsupported, std::move(evidence)};
}

std::optional<ContainerFormat> opened_format(ByteView head, ByteView tail) {
  if (head.equals_at(0, "EVF\x09\x0d\x0a\xff\x00"sv)) return opened("E01", "\"EVF\" signature at offset 0");
  if (head.equals_at(0, "conectix"sv)) return opened("VHD", "\"conectix\" footer copy at offset 0");
  if (head.equals_at(0, "vhdxfile"sv)) return opened("VHDX", "\"vhdxfile\" at offset 0");
  if (head.equals_at(0, "KDMV"sv)) return opened("VMDK", "sparse extent \"KDMV\" at offset 0");
  if (head.equals_at(0, "COWD"sv)) return opened("VMDK", "ESX extent \"COWD\" at offset 0");
  if (head.equals_at(0, "# Disk DescriptorFile"sv)) return opened("VMDK", "descriptor \"# Disk DescriptorFile\"");
  if (tail.size() == kContainerTailBytes && tail.equals_at(0, "conectix"sv))
    return opened("VHD", "\"conectix\" footer in the last 512 bytes");
  return std::nullopt;
}

// LVM2 writes its label into one of the first four sectors (lvm2's label.c scans them).
constexpr std::size_t kLvmLabelSectors = 4;
constexpr std::size_t kSector = 512;

std::optional<ContainerFormat> unsupported_format(ByteView head, ByteView tail) {
  if (head.equals_at(0, "QFI\xfb"sv)) {
    const auto version = big_endian(head, 4, 4);
    if (version && *version >= 1 && *version <= 3) {
      return unsupported(*version == 1 ? "qcow" : "qcow2",
                         "\"QFI\\xfb\" version " + std::to_string(*version) + " at offset 0");
    }
    return unsupported("qcow (unknown version)", "\"QFI\\xfb\" at offset 0, version " +
                                                     (version ? std::to_string(*version) : std::string("missing")));
  }
  if (head.equals_at(0, "QED\0"sv)) return unsupported("QED", "\"QED\\0\" at offset 0");
  if (head.u32le(0x40) == 0xBEDA107Fu) return unsupported("VDI (VirtualBox)", "signature 0xBEDA107F at offset 0x40");
  if (head.equals_at(0, "WithoutFreeSpace"sv) || head.equals_at(0, "WithouFreSpacExt"sv))
    return unsupported("Parallels HDD", "Parallels signature at offset 0");
  if (head.equals_at(0, "AFF10\r\n\0"sv)) return unsupported("AFF", "\"AFF10\" at offset 0");
  if (head.equals_at(0, "LVF\x09\x0d\x0a\xff\x00"sv))
    return unsupported("L01 (EnCase logical evidence)", "\"LVF\" signature at offset 0");
  if (head.equals_at(0, "LUKS\xba\xbe"sv)) {
    const auto version = big_endian(head, 6, 2);
    if (version && (*version == 1 || *version == 2)) {
      return unsupported("LUKS" + std::to_string(*version) + " encrypted volume",
                         "\"LUKS\\xba\\xbe\" version " + std::to_string(*version) + " at offset 0");
    }
  }
  for (std::size_t sector = 0; sector < kLvmLabelSectors; ++sector) {
    const std::size_t label = sector * kSector;
    if (head.equals_at(label, "LABELONE"sv) && head.equals_at(label + 0x18, "LVM2 001"sv)) {
      return unsupported("LVM2 physical volume", "\"LABELONE\" and \"LVM2 001\" in sector " + std::to_string(sector));
    }
  }
  if (tail.size() == kContainerTailBytes && tail.equals_at(0, "koly"sv))
    return unsupported("DMG (Apple UDIF)", "\"koly\" trailer in the last 512 bytes");
  return std::nullopt;
}

}  // namespace

std::optional<ContainerFormat> recognise_container(ByteView head, ByteView tail) {
  if (head.equals_at(0, "MZ"sv)) return std::nullopt;
  if (auto format = opened_format(head, tail)) return format;
  return unsupported_format(head, tail);
}

}  // namespace flscan::scanner::image
