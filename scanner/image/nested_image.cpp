#include "scanner/image/nested_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "scanner/image/image_files.h"
#include "scanner/image/limits.h"
#include "scanner/image/split_raw.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner::image {
namespace {

constexpr std::size_t kSector = 512;
constexpr std::size_t kMbrEntries = 446;
constexpr std::size_t kMbrEntryBytes = 16;

bool bytes_at(ByteView head, std::size_t offset, std::string_view literal) {
  return offset <= head.size() && literal.size() <= head.size() - offset &&
         std::memcmp(head.data() + offset, literal.data(), literal.size()) == 0;
}

std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24));
}

// A FAT boot sector's BIOS parameter block: a jump, a sector size of 512-4096, a power-of-two
// cluster, reserved sectors, one or two FATs, and the type string FAT12/16 (0x36) or FAT32 (0x52)
// put there.
bool fat_boot_sector(const std::uint8_t* s) {
  if (s[0] != 0xEB && s[0] != 0xE9) return false;
  const unsigned sector = s[11] | (s[12] << 8);
  const unsigned cluster = s[13];
  const unsigned reserved = s[14] | (s[15] << 8);
  const bool sizes = (sector == 512 || sector == 1024 || sector == 2048 || sector == 4096) && cluster != 0 &&
                     (cluster & (cluster - 1)) == 0 && reserved != 0 && (s[16] == 1 || s[16] == 2);
  return sizes && (std::memcmp(s + 0x36, "FAT", 3) == 0 || std::memcmp(s + 0x52, "FAT32", 5) == 0);
}

// An MBR entry in use: a boot status of 0x00 or 0x80, a type, a start past the table and a length.
bool mbr_entry_in_use(const std::uint8_t* sector) {
  for (std::size_t i = 0; i < 4; ++i) {
    const std::uint8_t* entry = sector + kMbrEntries + i * kMbrEntryBytes;
    if ((entry[0] == 0x00 || entry[0] == 0x80) && entry[4] != 0 && le32(entry + 8) != 0 && le32(entry + 12) != 0)
      return true;
  }
  return false;
}

bool raw_candidate(ByteView head) {
  if (head.size() < kSector || bytes_at(head, 0, "MZ")) return false;
  if (bytes_at(head, kSector, "EFI PART")) return true;
  const std::uint8_t* s = head.data();
  if (s[510] != 0x55 || s[511] != 0xAA) return false;
  // BitLocker's boot sector: a bare encrypted volume is reported encrypted-volume, as for a PATH.
  return bytes_at(head, 3, "NTFS    ") || bytes_at(head, 3, "EXFAT   ") || bytes_at(head, 3, "-FVE-FS-") ||
         fat_boot_sector(s) || mbr_entry_in_use(s);
}

ReadError open_failure(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return {NotScannedReason::vanished, "open as a disk image: " + errno_text(error)};
    case EACCES:
    case EPERM:
      return {NotScannedReason::permission_denied, "open as a disk image: " + errno_text(error)};
    case ELOOP:
      return {NotScannedReason::replaced, "open as a disk image: now a symbolic link"};
    default:
      return {NotScannedReason::io_error, "open as a disk image: " + errno_text(error)};
  }
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

}  // namespace

ImageCandidate image_candidate(ByteView head, std::uint64_t size) {
  ImageCandidate candidate;
  candidate.container = recognise_container(head, ByteView());
  if (candidate.container) {
    candidate.too_small = size < limits::kMinNestedImageBytes;
    return candidate;
  }
  candidate.raw = size >= limits::kMinNestedImageBytes && raw_candidate(head);
  return candidate;
}

namespace {

// Whether the image in `fd` may name files beside it: a qcow2 (backing file), a VHD or VHDX
// (differencing disk's parent), or a split raw segment by its name (.000, .001, .aa).
bool may_name_other_files(int fd, const std::string& name) {
  std::array<char, 8> magic{};
  if (::pread(fd, magic.data(), magic.size(), 0) == static_cast<ssize_t>(magic.size())) {
    const std::string_view head(magic.data(), magic.size());
    if (head.starts_with("QFI\xfb") || head == "conectix" || head == "vhdxfile") return true;
  }
  return has_segment_name(name);
}

}  // namespace

tl::expected<std::shared_ptr<const HeldImage>, ReadError> hold_walk_file(int dir_fd, const FileEntry& entry) {
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  if (!entry.via_symlink) flags |= O_NOFOLLOW;
  auto held = std::make_shared<HeldImage>();
  held->walk_path = entry.path.string();
  held->shard_key = entry.key;
  held->directory = entry.dir;
  held->file = Fd(open_noatime_at(dir_fd, entry.name.c_str(), flags));
  if (!held->file.valid()) return tl::make_unexpected(open_failure(errno));
  struct stat st {};
  if (::fstat(held->file.get(), &st) != 0) {
    return tl::make_unexpected(ReadError{NotScannedReason::io_error, "fstat: " + errno_text(errno)});
  }
  if (!S_ISREG(st.st_mode)) {
    return tl::make_unexpected(ReadError{NotScannedReason::replaced, "open as a disk image: no longer a regular file"});
  }
  if (st.st_dev != entry.expected.dev || st.st_ino != entry.expected.ino) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::replaced,
                  "open as a disk image: not the file that was listed (another file at this name now)"});
  }
  // The alias: a private directory of this process, holding one link named as the image, removed
  // with the HeldImage or when a signal ends flscan (private_link.h).
  auto link = PrivateLink::create("flscan-image", entry.name, "/proc/self/fd/" + std::to_string(held->file.get()));
  if (!link) {
    return tl::make_unexpected(ReadError{
        NotScannedReason::io_error, "cannot name the open image in a private directory: " + errno_text(link.error())});
  }
  held->link = std::move(*link);
  held->alias = held->link->path();
  if (may_name_other_files(held->file.get(), entry.name)) {
    held->sibling_directory = Fd(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (held->sibling_directory.valid()) {
      set_sibling_directory(held->link->directory(),
                            "/proc/self/fd/" + std::to_string(held->sibling_directory.get()) + "/");
    }
  }
  return held;
}

Detection detect_held_image(const std::shared_ptr<const HeldImage>& held) {
  Detection detection;
  // The alias must lead to the held descriptor (without /proc it leads nowhere): never open
  // anything else in its place.
  struct stat via {};
  struct stat st {};
  if (::stat(held->alias.c_str(), &via) != 0 || ::fstat(held->file.get(), &st) != 0 || via.st_dev != st.st_dev ||
      via.st_ino != st.st_ino) {
    detection.kind = Detection::Kind::unreadable;
    detection.detail = "the open image cannot be named as /proc/self/fd/" + std::to_string(held->file.get()) +
                       " (is /proc mounted?), so it was not opened";
    return detection;
  }
  detection = detect_image(held->alias, ImageMode::detect);
  replace_all(detection.detail, held->alias, held->walk_path);
  if (held->sibling_directory.valid()) {
    const std::size_t slash = held->walk_path.rfind('/');
    replace_all(detection.detail, "/proc/self/fd/" + std::to_string(held->sibling_directory.get()) + "/",
                slash == std::string::npos ? "" : held->walk_path.substr(0, slash + 1));
  }
  if (detection.kind != Detection::Kind::image) return detection;
  ImageLayout& layout = detection.layout;
  layout.path = held->walk_path;
  layout.source.held = held;
  // Files beside the image were looked up as /proc/self/fd/N/name: named in the report by the
  // walk's directory.
  const std::string sibling_prefix =
      held->sibling_directory.valid() ? "/proc/self/fd/" + std::to_string(held->sibling_directory.get()) + "/" : "";
  const std::size_t slash = held->walk_path.rfind('/');
  const std::string walk_directory = slash == std::string::npos ? "" : held->walk_path.substr(0, slash + 1);
  const auto name_files = [&](std::string& text) {
    replace_all(text, held->alias, held->walk_path);
    if (!sibling_prefix.empty()) replace_all(text, sibling_prefix, walk_directory);
  };
  for (VolumeLayout& volume : layout.volumes) {
    volume.report.image = held->walk_path;
    name_files(volume.report.detail);
    for (std::string& file : volume.report.image_files) name_files(file);
  }
  return detection;
}

std::string inside_image_detail(const ContainerFormat& format) {
  return format.name + " disk image (" + format.evidence +
         ") inside a disk image: images inside images are reported, not opened, so its files were not read; extract "
         "it and scan it as a PATH";
}

std::string too_small_detail(const ContainerFormat& format) {
  return format.name + " disk image signature (" + format.evidence + ") in a file smaller than " +
         std::to_string(limits::kMinNestedImageBytes) +
         " bytes found inside a scanned directory: not opened there; name it as a PATH to scan it";
}

std::string option_detail(const std::string& what) {
  return what + " found inside a scanned directory: not opened (--no-nested-images), so its files were not read";
}

std::string too_many_detail() {
  return "more than " + std::to_string(limits::kMaxNestedImages) +
         " disk images found in the scanned directories: this one was not opened, so its files were not read; name it "
         "as a PATH to scan it";
}

std::string raw_image_description(const ImageLayout& layout) {
  std::string text = "disk image";
  if (!layout.volumes.empty()) text = layout.volumes.front().report.image_format + " " + text;
  std::string names;
  for (const VolumeLayout& volume : layout.volumes) names += (names.empty() ? "" : ", ") + volume.report.name;
  return text + " (volumes " + names + ")";
}

}  // namespace flscan::scanner::image
