#include "scanner/image/image_layout.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "scanner/image/limits.h"
#include "scanner/image/lvm_volumes.h"
#include "scanner/image/tsk_handle.h"
#include "scanner/image/container_format.h"
#include "scanner/image/encrypted_volume.h"
#include "scanner/image/libyal_formats.h"
#include "scanner/image/split_raw.h"
#include "scanner/image/tsk_runtime.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner::image {
namespace {

constexpr std::size_t kHeadBytes = 4096;
constexpr std::size_t kSectorBytes = 512;

// The first bytes and the last sector of the operand, read once with pread.
struct Head {
  std::vector<std::uint8_t> head;
  std::array<std::uint8_t, kSectorBytes> tail{};
  bool has_tail = false;
  std::uint64_t size = 0;
  bool device = false;  // a block device: a disk, opened as an image whatever it holds
};

bool bytes_at(const std::uint8_t* data, std::size_t size, std::size_t offset, std::string_view literal) {
  return offset <= size && literal.size() <= size - offset &&
         std::memcmp(data + offset, literal.data(), literal.size()) == 0;
}
bool bytes_at(const std::vector<std::uint8_t>& data, std::size_t offset, std::string_view literal) {
  return bytes_at(data.data(), data.size(), offset, literal);
}

std::size_t pread_all(int fd, std::uint8_t* out, std::size_t length, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

enum class HeadStatus { ok, not_a_file, unreadable };

HeadStatus read_head(const std::string& path, Head& out, std::string& error) {
  // stat first: a FIFO, socket or character device is never opened (even opening one can block
  // or act, e.g. a tape device rewinds on close). The fstat below checks the opened file again.
  struct stat named {};
  if (stat_path(path.c_str(), &named, 0) == 0) {
    if (!S_ISREG(named.st_mode) && !S_ISBLK(named.st_mode)) return HeadStatus::not_a_file;
    out.device = S_ISBLK(named.st_mode);
  }
  const Fd fd(open_path(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    error = "open: " + errno_text(errno);
    return HeadStatus::unreadable;
  }
  struct stat st {};
  HeadStatus status = HeadStatus::ok;
  if (::fstat(fd.get(), &st) != 0) {
    error = "fstat: " + errno_text(errno);
    status = HeadStatus::unreadable;
  } else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    status = HeadStatus::not_a_file;
  } else {
    out.device = S_ISBLK(st.st_mode);
    std::uint64_t device_size = 0;
    if (out.device && ::ioctl(fd.get(), BLKGETSIZE64, &device_size) != 0) device_size = 0;
    out.size = out.device ? device_size : static_cast<std::uint64_t>(st.st_size);
    out.head.resize(kHeadBytes);
    out.head.resize(pread_all(fd.get(), out.head.data(), kHeadBytes, 0));
    if (out.size >= 2 * kSectorBytes) {
      out.has_tail = pread_all(fd.get(), out.tail.data(), kSectorBytes, out.size - kSectorBytes) == kSectorBytes;
    }
  }
  return status;
}

enum class Candidate { none, container, raw, unsupported };

struct Classified {
  Candidate candidate = Candidate::none;
  // For a container signature: the TSK type it must open as (DETECT: either), and the format.
  TSK_IMG_TYPE_ENUM expected = TSK_IMG_TYPE_DETECT;
  std::optional<ContainerFormat> format;
};

// The TSK container type a format TSK opens must open as; DETECT for a fixed VHD, which TSK may
// read as the raw disk it is (the footer is the only container structure). (A dynamic VHD is read
// by flscan: libyal_opener.)
TSK_IMG_TYPE_ENUM tsk_type_for(const ContainerFormat& format) {
  if (format.name == "E01") return TSK_IMG_TYPE_EWF_EWF;
  if (format.name == "VMDK") return TSK_IMG_TYPE_VMDK_VMDK;
  return TSK_IMG_TYPE_DETECT;
}

// See the file comment of image_layout.h; container formats: container_format.h.
Classified classify(const Head& h) {
  const auto& b = h.head;
  if (bytes_at(b, 0, "MZ")) return {};
  const ByteView head(b.data(), b.size());
  const ByteView tail = h.has_tail ? ByteView(h.tail.data(), h.tail.size()) : ByteView();
  if (std::optional<ContainerFormat> format = recognise_container(head, tail)) {
    if (format->support == ContainerSupport::unsupported) return {Candidate::unsupported, TSK_IMG_TYPE_DETECT, format};
    const TSK_IMG_TYPE_ENUM expected = tsk_type_for(*format);
    return {Candidate::container, expected, std::move(format)};
  }
  if (b.size() >= kSectorBytes && b[510] == 0x55 && b[511] == 0xAA) return {Candidate::raw, TSK_IMG_TYPE_DETECT, {}};
  if (bytes_at(b, kSectorBytes, "EFI PART")) return {Candidate::raw, TSK_IMG_TYPE_DETECT, {}};
  return {};
}

// BitLocker's discovery-volume GUID 4967D63B-2E29-4AD8-8399-F6A339E3D001 as stored (first three
// fields little-endian).
constexpr std::string_view kBitLockerDiscoveryGuid("\x3b\xd6\x67\x49\x29\x2e\xd8\x4a\x83\x99\xf6\xa3\x39\xe3\xd0\x01",
                                                   16);
constexpr std::size_t kBitLockerToGoGuidOffset = 0x1A8;

// An encrypted volume's signature in its first sector, described; nullopt when none.
// BitLocker To Go (issue 12) puts a small FAT "discovery volume" in front, OEM "MSWIN4.1", whose
// boot sector carries the discovery-volume GUID at 0x1A8: the FAT opens, but it only holds the
// reader program while the real files are ciphertext, so the GUID alone makes the volume
// encrypted (a crafted OEM name must not turn it back into a readable FAT).
std::optional<std::string> encryption_signature(const std::uint8_t* sector, std::size_t size) {
  if (bytes_at(sector, size, 3, "-FVE-FS-")) return "BitLocker (\"-FVE-FS-\" at offset 3 of the boot sector)";
  if (bytes_at(sector, size, kBitLockerToGoGuidOffset, kBitLockerDiscoveryGuid)) {
    return std::string(
               "BitLocker To Go (discovery-volume GUID 4967D63B-2E29-4AD8-8399-F6A339E3D001 at offset 0x1A8 of the "
               "boot sector") +
           (bytes_at(sector, size, 3, "MSWIN4.1") ? ", OEM \"MSWIN4.1\"" : "") +
           "; the FAT volume in front holds only the reader program)";
  }
  if (bytes_at(sector, size, 0, std::string_view("LUKS\xba\xbe", 6))) return "LUKS (header at the start of the volume)";
  return std::nullopt;
}

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint32_t le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24));
}

// A GPT type GUID in its usual text form (the first three fields are stored little-endian).
std::string guid_text(const std::uint8_t* g) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string text;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    const std::uint8_t b = g[kOrder[i]];
    text += kHex[b >> 4];
    text += kHex[b & 15];
  }
  return text;
}

std::string_view gpt_type_name(std::string_view guid) {
  if (guid == "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7") return "Microsoft basic data";
  if (guid == "E3C9E316-0B5C-4DB8-817D-F92DF00215AE") return "Microsoft reserved";
  if (guid == "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC") return "Windows recovery environment";
  if (guid == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B") return "EFI system";
  if (guid == "21686148-6449-6E6F-744E-656564454649") return "BIOS boot";
  if (guid == "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F") return "Linux swap";
  if (guid == "0FC63DAF-8483-4772-8E79-3D69D8477DE4") return "Linux filesystem";
  if (guid == "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3") return "Windows LDM metadata (reserved)";
  if (guid == "AF9B60A0-1431-4F62-BC68-3311714A69AD") return "Windows LDM data";
  if (guid == "E6D6D379-F507-44C2-A23C-238F2A3DF928") return "Linux LVM";
  return "";
}

// TSK 4.11 describes a GPT partition by its name only; the type GUID (which tells a Microsoft
// reserved partition from a data partition) is read here from the primary entry array: one
// bounded read of the header and one of the entry.
std::string gpt_partition_type(TSK_IMG_INFO* img, const TSK_VS_INFO& vs, const TSK_VS_PART_INFO& part) {
  if (vs.vstype != TSK_VS_TYPE_GPT || vs.is_backup != 0 || part.slot_num < 0 || vs.block_size < 92) return "";
  std::vector<std::uint8_t> header(vs.block_size);
  const TSK_OFF_T header_offset = static_cast<TSK_OFF_T>(vs.offset + vs.block_size);
  if (tsk_img_read(img, header_offset, reinterpret_cast<char*>(header.data()), header.size()) !=
          static_cast<ssize_t>(header.size()) ||
      !bytes_at(header, 0, "EFI PART")) {
    tsk_error_reset();
    return "";
  }
  const std::uint64_t entries_lba = le64(header.data() + 72);
  const std::uint32_t entry_size = le32(header.data() + 84);
  std::uint64_t offset = 0;
  if (entry_size < 16 || entry_size > 4096 ||
      __builtin_mul_overflow(entries_lba, static_cast<std::uint64_t>(vs.block_size), &offset) ||
      __builtin_add_overflow(offset, static_cast<std::uint64_t>(part.slot_num) * entry_size, &offset) ||
      __builtin_add_overflow(offset, static_cast<std::uint64_t>(vs.offset), &offset) ||
      offset > static_cast<std::uint64_t>(img->size)) {
    return "";
  }
  std::array<std::uint8_t, 16> type{};
  if (tsk_img_read(img, static_cast<TSK_OFF_T>(offset), reinterpret_cast<char*>(type.data()), type.size()) != 16) {
    tsk_error_reset();
    return "";
  }
  const std::string guid = guid_text(type.data());
  const std::string_view name = gpt_type_name(guid);
  std::string text = name.empty() ? "GPT type " + guid : std::string(name) + " (" + guid + ")";
  if (part.desc != nullptr && part.desc[0] != '\0') text += ", name \"" + std::string(part.desc) + "\"";
  return text;
}

// Partition types that hold no files: skipped, not an error, when no filesystem opens in them.
bool dataless_partition_type(std::string_view description) {
  // The type only, not a GPT partition's name (which anyone can set).
  std::string lower(description.substr(0, description.find(", name \"")));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.find("reserved") != std::string::npos || lower.find("bios boot") != std::string::npos ||
         lower.find("swap") != std::string::npos;
}

FsPtr open_filesystem(TSK_IMG_INFO* img, std::uint64_t offset, std::initializer_list<TSK_FS_TYPE_ENUM> types,
                      std::string& error) {
  for (const TSK_FS_TYPE_ENUM type : types) {
    tsk_error_reset();
    FsPtr fs(tsk_fs_open_img(img, static_cast<TSK_OFF_T>(offset), type));
    if (fs) return fs;
    if (error.empty()) error = tsk_error_text("open filesystem");
    tsk_error_reset();
  }
  return nullptr;
}

std::string bytes_text(std::uint64_t n) { return std::to_string(n) + " bytes"; }

// Fills `volume` from the filesystem TSK opened: its type, and a warning when the image ends
// before the volume or the filesystem does (files stored there are NOT SCANNED one by one).
void describe_opened(VolumeLayout& volume, const TSK_FS_INFO& fs, std::uint64_t image_size) {
  volume.fs_type = fs.ftype;
  const char* filesystem = tsk_fs_type_toname(fs.ftype);
  volume.report.filesystem = filesystem != nullptr ? filesystem : "unknown";
  volume.report.status = VolumeStatus::scanned;
  std::uint64_t end = 0;  // saturates: a crafted length must not wrap round and hide the warning
  if (__builtin_add_overflow(volume.report.offset, volume.report.length, &end)) end = UINT64_MAX;
  if (fs.last_block_act < fs.last_block) {
    volume.report.detail = "the image ends before the end of the filesystem (" + std::to_string(fs.last_block_act + 1) +
                           " of " + std::to_string(fs.last_block + 1) +
                           " blocks present): files with data past the end are NOT SCANNED";
  } else if (end > image_size) {
    volume.report.detail = "the image ends " + bytes_text(image_size - std::min(image_size, volume.report.offset)) +
                           " into this volume of " + bytes_text(volume.report.length);
  }
}

void set_error(VolumeLayout& volume, NotScannedReason reason, std::string detail) {
  volume.report.status = VolumeStatus::error;
  volume.report.reason = reason;
  volume.report.detail = std::move(detail);
}

// An encrypted volume: opened through its decryption when a key given fits (encrypted_volume.h),
// its filesystem then opened through the layer; otherwise the reason it stays closed.
VolumeLayout open_encrypted(TSK_IMG_INFO* img, VolumeLayout volume, ByteView first_sector,
                            const std::string& signature) {
  auto unlocked = unlock_encrypted_volume(img, volume.report.offset, volume.report.length, first_sector, signature);
  if (!unlocked) {
    set_error(volume, unlocked.error().reason, std::move(unlocked.error().detail));
    return volume;
  }
  volume.layer = std::move(unlocked->layer);
  volume.report.decrypted_with = std::string(key_kind_code(unlocked->key));
  auto plain = volume.layer->open(img);
  if (!plain) {
    set_error(volume, NotScannedReason::unreadable_image, unlocked->description + ": " + plain.error());
    return volume;
  }
  std::string error;
  if (FsPtr fs = open_filesystem(plain->get(), 0, {TSK_FS_TYPE_DETECT}, error)) {
    describe_opened(volume, *fs, static_cast<std::uint64_t>(img->size));
    return volume;
  }
  set_error(volume, NotScannedReason::unknown_filesystem,
            unlocked->description + ", decrypted: no filesystem in it (" + error + ")");
  return volume;
}

// Opens the filesystem of one volume (a partition, or the whole image) and records the outcome.
VolumeLayout open_volume(TSK_IMG_INFO* img, ImageVolume base) {
  VolumeLayout volume{std::move(base), TSK_FS_TYPE_DETECT, nullptr};
  const std::uint64_t image_size = static_cast<std::uint64_t>(img->size);
  if (volume.report.offset >= image_size) {
    set_error(volume, NotScannedReason::unreadable_image,
              "the volume starts at byte " + std::to_string(volume.report.offset) + ", past the end of the image (" +
                  bytes_text(image_size) + "): the image is truncated or the partition table is wrong");
    return volume;
  }
  std::array<std::uint8_t, kSectorBytes> sector{};
  tsk_error_reset();
  const ssize_t got = tsk_img_read(img, static_cast<TSK_OFF_T>(volume.report.offset),
                                   reinterpret_cast<char*>(sector.data()), sector.size());
  if (got < 0) {
    set_error(volume, NotScannedReason::unreadable_image, tsk_error_text("read the first sector of the volume"));
    return volume;
  }
  const std::size_t sector_size = static_cast<std::size_t>(got);
  if (auto encryption = encryption_signature(sector.data(), sector_size)) {
    return open_encrypted(img, std::move(volume), ByteView(sector.data(), sector_size), *encryption);
  }
  std::string error;
  FsPtr fs = open_filesystem(img, volume.report.offset, {TSK_FS_TYPE_DETECT}, error);
  if (fs) {
    describe_opened(volume, *fs, image_size);
    return volume;
  }
  // The type is a byte anyone writes: a partition that carries a boot sector or partition table
  // signature (a whole disk hidden in a "reserved" or "swap" partition) is not skipped on its word.
  const bool signed_sector = sector_size == kSectorBytes && sector[510] == 0x55 && sector[511] == 0xAA;
  if (dataless_partition_type(volume.report.partition_type) && !signed_sector) {
    volume.report.status = VolumeStatus::skipped;
    volume.report.detail =
        "partition type \"" + volume.report.partition_type + "\" holds no files, and no filesystem was found in it";
    return volume;
  }
  // A boot sector (0x55AA) whose filesystem does not open because the image ends inside the
  // volume: a truncated image. Without one, the volume holds no filesystem TSK recognises.
  const std::uint64_t end = volume.report.offset + volume.report.length;
  const bool truncated = end > image_size || end < volume.report.offset;
  const bool boot_sector = sector_size == kSectorBytes && sector[510] == 0x55 && sector[511] == 0xAA;
  if (truncated) {
    const std::string where = "the image ends " + bytes_text(image_size - volume.report.offset) +
                              " into this volume of " + bytes_text(volume.report.length);
    set_error(volume, boot_sector ? NotScannedReason::unreadable_image : NotScannedReason::unknown_filesystem,
              where + (boot_sector ? " (truncated image): " : "; ") + error);
    return volume;
  }
  const bool all_zero = std::all_of(sector.begin(), sector.begin() + static_cast<std::ptrdiff_t>(sector_size),
                                    [](std::uint8_t b) { return b == 0; });
  set_error(volume, NotScannedReason::unknown_filesystem,
            all_zero ? "the first sector of the volume is all zeros (" + error + ")" : error);
  return volume;
}

// The allocated partitions of `vs`, in start order, at most limits::kMaxPartitions; `more` is set
// when there were more.
std::vector<const TSK_VS_PART_INFO*> allocated_partitions(const TSK_VS_INFO& vs, bool& more) {
  std::vector<const TSK_VS_PART_INFO*> parts;
  more = false;
  std::size_t examined = 0;
  for (const TSK_VS_PART_INFO* part = vs.part_list; part != nullptr; part = part->next) {
    if (++examined > limits::kMaxPartitions * 4) {  // meta and unallocated entries come in between
      more = true;
      break;
    }
    if ((part->flags & TSK_VS_PART_FLAG_ALLOC) == 0) continue;
    if (parts.size() == limits::kMaxPartitions) {
      more = true;
      break;
    }
    parts.push_back(part);
  }
  std::stable_sort(parts.begin(), parts.end(),
                   [](const TSK_VS_PART_INFO* a, const TSK_VS_PART_INFO* b) { return a->start < b->start; });
  return parts;
}

// The byte range of a partition, or nullopt when it does not fit in 64 bits (a crafted table).
std::optional<std::pair<std::uint64_t, std::uint64_t>> byte_range(const TSK_VS_INFO& vs, const TSK_VS_PART_INFO& part) {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(part.start), static_cast<std::uint64_t>(vs.block_size),
                             &offset) ||
      __builtin_add_overflow(offset, static_cast<std::uint64_t>(vs.offset), &offset) ||
      __builtin_mul_overflow(static_cast<std::uint64_t>(part.len), static_cast<std::uint64_t>(vs.block_size),
                             &length)) {
    return std::nullopt;
  }
  return std::make_pair(offset, length);
}

// A real image seen as much larger than it is. TSK refuses a whole DOS partition table when a
// partition starts past the end of the image (dos_load_prim_table: "Starting sector too large");
// through this view it lists them all, and each partition is then checked against the real size
// and reported on its own (the ones still inside the image are scanned).
class PaddedReader final : public ImageReader {
 public:
  PaddedReader(TSK_IMG_INFO* real, std::uint64_t real_size) : real_(real), real_size_(real_size) {}
  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset >= real_size_) {
      tsk_error_reset();
      tsk_error_set_errno(TSK_ERR_IMG_READ_OFF);
      tsk_error_set_errstr("offset %llu is past the end of the image (%llu bytes)",
                           static_cast<unsigned long long>(offset), static_cast<unsigned long long>(real_size_));
      return -1;
    }
    const auto available = static_cast<std::size_t>(std::min<std::uint64_t>(length, real_size_ - offset));
    return tsk_img_read(real_, static_cast<TSK_OFF_T>(offset), out, available);
  }

 private:
  TSK_IMG_INFO* real_;
  std::uint64_t real_size_;
};

// Size of the padded view: far beyond any real disk, far below TSK_OFF_T's limit.
constexpr std::uint64_t kPaddedViewBytes = 1ull << 56;

struct Built {
  ImageLayout layout;
  bool confirmed = false;  // TSK found a partition table, a filesystem or an encrypted volume
};

// The image's first sector as TSK reads it (`got` <= 0: it could not be read).
struct FirstSector {
  std::array<std::uint8_t, kSectorBytes> bytes{};
  ssize_t got = 0;
  std::string error;  // why it cannot be read (got < 0)
};

FirstSector read_first_sector(TSK_IMG_INFO* img) {
  FirstSector first;
  tsk_error_reset();
  first.got = tsk_img_read(img, 0, reinterpret_cast<char*>(first.bytes.data()), first.bytes.size());
  if (first.got < 0) first.error = tsk_error_text("read");
  return first;
}

// The whole image as one volume ("vol"), before anything is known of what it holds.
ImageVolume whole_image_volume(TSK_IMG_INFO* img, const ImageSource& source, std::uint64_t size) {
  ImageVolume whole;
  whole.image = source.path;
  whole.name = "vol";
  const char* format = tsk_img_type_toname(img->itype);  // null for a callback image
  whole.image_format = !source.format.empty() ? source.format : format != nullptr ? format : "memory";
  whole.image_files = source.files.empty() ? std::vector<std::string>{source.path} : source.files;
  whole.offset = 0;
  whole.length = size;
  return whole;
}

// A bare volume at offset 0 that is encrypted or holds NTFS or FAT: a FAT or NTFS boot sector also
// ends in 0x55AA, and its boot code can read as partition entries, so this comes before the
// partition table. An encrypted bare volume is an image too (reported as such). `fs_error`: why
// no NTFS or FAT opened.
std::optional<VolumeLayout> bare_volume(TSK_IMG_INFO* img, const ImageVolume& whole, const FirstSector& first,
                                        std::uint64_t image_size, std::string& fs_error) {
  if (first.got > 0) {
    if (auto encryption = encryption_signature(first.bytes.data(), static_cast<std::size_t>(first.got))) {
      return open_encrypted(img, VolumeLayout{whole, TSK_FS_TYPE_DETECT, nullptr},
                            ByteView(first.bytes.data(), static_cast<std::size_t>(first.got)), *encryption);
    }
  }
  tsk_error_reset();
  if (FsPtr fs = open_filesystem(img, 0, {TSK_FS_TYPE_NTFS_DETECT, TSK_FS_TYPE_FAT_DETECT}, fs_error)) {
    VolumeLayout volume{whole, TSK_FS_TYPE_DETECT, nullptr};
    describe_opened(volume, *fs, image_size);
    return volume;
  }
  return std::nullopt;
}

// The partition table TSK finds in the image, directly or through a PaddedReader view.
struct PartitionTable {
  ImgPtr padded;  // declared before `vs`, so destroyed after it: `vs` may have been opened on it
  VsPtr vs;
  bool through_padded_view = false;
  std::string error;  // why TSK found none in the image itself
};

PartitionTable open_partition_table(TSK_IMG_INFO* img, std::uint64_t image_size) {
  PartitionTable table;
  tsk_error_reset();
  table.vs.reset(tsk_vs_open(img, 0, TSK_VS_TYPE_DETECT));
  table.error = table.vs ? std::string() : tsk_error_text("open partition table");
  if (!table.vs && image_size < kPaddedViewBytes) {
    table.padded =
        open_callback_image(std::make_unique<PaddedReader>(img, image_size), kPaddedViewBytes, img->sector_size);
    if (table.padded) {
      tsk_error_reset();
      table.vs.reset(tsk_vs_open(table.padded.get(), 0, TSK_VS_TYPE_DETECT));
      tsk_error_reset();
      table.through_padded_view = table.vs != nullptr;
    }
  }
  return table;
}

// A volume per allocated partition of `vs` (p1, p2... in start order), each opened or given a
// reason, and one more saying so when the table lists more than limits::kMaxPartitions.
std::vector<VolumeLayout> partition_volumes(TSK_IMG_INFO* img, const TSK_VS_INFO& vs, const ImageVolume& whole) {
  std::vector<VolumeLayout> volumes;
  bool more = false;
  const auto parts = allocated_partitions(vs, more);
  std::size_t ordinal = 0;
  std::size_t lv_budget = limits::kMaxLvmLogicalVolumes;
  for (const TSK_VS_PART_INFO* part : parts) {
    ImageVolume base = whole;
    base.name = "p" + std::to_string(++ordinal);
    base.partition_type = vs.vstype == TSK_VS_TYPE_GPT ? gpt_partition_type(img, vs, *part)
                                                       : std::string(part->desc != nullptr ? part->desc : "");
    const auto range = byte_range(vs, *part);
    if (!range) {
      VolumeLayout volume{base, TSK_FS_TYPE_DETECT, nullptr};
      set_error(volume, NotScannedReason::unreadable_image, "the partition's start or length does not fit in 64 bits");
      volumes.push_back(std::move(volume));
      continue;
    }
    base.offset = range->first;
    base.length = range->second;
    // An LVM2 physical volume (whatever the partition's type): its logical volumes (issue 15).
    if (has_lvm_label(img, base.offset)) {
      for (VolumeLayout& lv : lvm_volumes(img, base, open_volume, lv_budget)) volumes.push_back(std::move(lv));
      continue;
    }
    VolumeLayout volume = open_volume(img, std::move(base));
    if (lvm_partition_type(volume.report.partition_type) && volume.report.status == VolumeStatus::error &&
        volume.report.reason == NotScannedReason::unknown_filesystem) {
      volume.report.detail =
          "the partition type is LVM's, but no LVM2 physical volume label is in its first four "
          "sectors; " +
          volume.report.detail;
    }
    volumes.push_back(std::move(volume));
  }
  if (more) {
    VolumeLayout volume{whole, TSK_FS_TYPE_DETECT, nullptr};
    volume.report.name = "p" + std::to_string(ordinal + 1);
    set_error(volume, NotScannedReason::unreadable_image,
              "the partition table lists more than " + std::to_string(limits::kMaxPartitions) +
                  " partitions; the rest are not examined");
    volumes.push_back(std::move(volume));
  }
  return volumes;
}

// Whether a partition inside the image holds a filesystem (or an encrypted volume).
bool any_volume_found(const std::vector<VolumeLayout>& volumes) {
  return std::any_of(volumes.begin(), volumes.end(), [](const VolumeLayout& v) {
    return v.report.status == VolumeStatus::scanned || !v.report.decrypted_with.empty() ||
           (v.report.status == VolumeStatus::error && (v.report.reason == NotScannedReason::encrypted_volume ||
                                                       v.report.reason == NotScannedReason::key_rejected));
  });
}

// No partition table and no NTFS/FAT at offset 0: any other filesystem TSK knows (then
// `confirmed`), else the reason the image holds none, given as the whole image's volume.
VolumeLayout whole_image_fallback(TSK_IMG_INFO* img, const ImageVolume& whole, const FirstSector& first,
                                  std::uint64_t image_size, const std::string& vs_error, const std::string& fs_error,
                                  bool& confirmed) {
  VolumeLayout volume{whole, TSK_FS_TYPE_DETECT, nullptr};
  std::string other_error;
  if (FsPtr fs = open_filesystem(img, 0, {TSK_FS_TYPE_DETECT}, other_error)) {
    describe_opened(volume, *fs, image_size);
    confirmed = true;
    return volume;
  }
  // A damaged or cut container (E01, VMDK, VHD) opens, then reads as zeros where its data is
  // missing: that is an image that cannot be read, not a disk without a filesystem.
  const bool blank_start = first.got <= 0 || std::all_of(first.bytes.begin(), first.bytes.begin() + first.got,
                                                         [](std::uint8_t b) { return b == 0; });
  if (blank_start && img->itype != TSK_IMG_TYPE_RAW) {
    set_error(volume, NotScannedReason::unreadable_image,
              first.got <= 0
                  ? "the first sector cannot be read: the container is damaged or cut short" +
                        (first.error.empty() ? std::string() : " (" + first.error + ")")
                  : "the first sector reads as zeros: the container is damaged or cut short (no partition table, "
                    "no filesystem)");
    return volume;
  }
  set_error(volume, NotScannedReason::unknown_filesystem,
            "no partition table (" + vs_error + ") and no filesystem at offset 0 (" + fs_error + ")");
  return volume;
}

// `raw_candidate`: only a 0x55AA or "EFI PART" made the file a candidate (not a container
// signature, not --image), so what TSK finds must confirm it is an image.
Built build_layout(TSK_IMG_INFO* img, ImageSource source, bool raw_candidate) {
  Built built;
  ImageLayout& layout = built.layout;
  layout.path = source.path;
  if (source.opener == ImageOpener::tsk) source.tsk_type = img->itype;
  layout.source = std::move(source);
  layout.size = static_cast<std::uint64_t>(img->size);
  const ImageVolume whole = whole_image_volume(img, layout.source, layout.size);
  const FirstSector first = read_first_sector(img);
  // A bare LVM2 physical volume (its label is in one of the first four sectors): its logical volumes.
  if (has_lvm_label(img, 0)) {
    std::size_t lv_budget = limits::kMaxLvmLogicalVolumes;
    layout.volumes = lvm_volumes(img, whole, open_volume, lv_budget);
    built.confirmed = true;
    return built;
  }
  std::string fs_error;
  if (auto bare = bare_volume(img, whole, first, layout.size, fs_error)) {
    layout.volumes.push_back(std::move(*bare));
    built.confirmed = true;
    return built;
  }
  PartitionTable table = open_partition_table(img, layout.size);
  if (table.vs) {
    layout.volumes = partition_volumes(img, *table.vs, whole);
    // Through the padded view, TSK accepts a table it refuses otherwise: for a raw candidate it
    // counts as found only when a partition inside the image holds a filesystem (or an
    // encrypted volume).
    const bool found = !table.through_padded_view || any_volume_found(layout.volumes);
    if (!layout.volumes.empty() && (found || !raw_candidate)) {
      built.confirmed = found;
      return built;
    }
    layout.volumes.clear();
    if (!table.through_padded_view) table.error = "the partition table has no allocated partition";
  }
  layout.volumes.push_back(
      whole_image_fallback(img, whole, first, layout.size, table.error, fs_error, built.confirmed));
  return built;
}

// The libyal library that reads a container format, when it is not The Sleuth Kit: qcow2 with
// libqcow; VHDX with libvhdi; a dynamic or differencing VHD checked by libvhdi, its blocks read by
// flscan (issue 19: TSK reads a dynamic VHD through libvhdi, 29 times slower than the raw disk;
// libyal_chain.h, load_vhd_chain). A fixed VHD (recognised by its footer at the end) stays with
// TSK: libvhdi reads it as the raw bytes it is, without block lookups.
std::optional<ImageOpener> libyal_opener(const ContainerFormat& format) {
  if (format.name == "qcow2") return ImageOpener::qcow;
  if (format.name == "VHDX") return ImageOpener::vhdi;
  if (format.name == "differencing VHD" || (format.name == "VHD" && !format.at_end)) return ImageOpener::vhd;
  return std::nullopt;
}

// The qcow2 header's virtual disk size (big-endian u64 at 24), 0 when the head is shorter.
std::uint64_t qcow2_disk_size(const std::vector<std::uint8_t>& head) {
  if (head.size() < 32) return 0;
  std::uint64_t size = 0;
  for (std::size_t i = 24; i < 32; ++i) size = size << 8 | head[i];
  return size;
}

// A qcow2, VHD or VHDX: its chain of parent files found (image_files.h), then the
// whole chain opened as one disk and laid out as any image.
Detection detect_chain(const std::string& path, ImageOpener opener, const ContainerFormat& format, const Head& head) {
  Detection detection;
  const bool qcow = opener == ImageOpener::qcow;
  static const ChainHeadRule no_rule;
  auto chain = resolve_libyal_chain(qcow ? qcow_api() : vhdi_api(), path, qcow ? qcow_head_rule() : no_rule);
  ImageSource source{
      path, TSK_IMG_TYPE_DETECT, nullptr, opener, {}, qcow ? "qcow2" : format.name == "VHDX" ? "vhdx" : "vhd"};
  if (!chain) {
    switch (chain.error().kind) {
      case ChainFailure::Kind::unreadable:
        detection.kind = Detection::Kind::unreadable;
        detection.detail = format.name + " (" + format.evidence + "): " + chain.error().detail;
        return detection;
      case ChainFailure::Kind::unsupported:
      case ChainFailure::Kind::raw_parent:  // resolve_libyal_chain ends the chain on it instead
        detection.kind = Detection::Kind::unsupported;
        detection.detail = format.name + " (" + format.evidence + "): " + chain.error().detail;
        return detection;
      case ChainFailure::Kind::encrypted:
        break;
    }
    // Encrypted by its container: one volume, the whole disk, that cannot be read without the key.
    detection.kind = Detection::Kind::image;
    ImageLayout& layout = detection.layout;
    layout.path = path;
    layout.source = std::move(source);
    layout.size = qcow ? qcow2_disk_size(head.head) : 0;
    VolumeLayout volume;
    volume.report.image = path;
    volume.report.name = "vol";
    volume.report.image_format = layout.source.format;
    volume.report.image_files = {path};
    volume.report.length = layout.size;
    set_error(volume, NotScannedReason::encrypted_volume, chain.error().detail);
    layout.volumes.push_back(std::move(volume));
    return detection;
  }
  source.files = std::move(chain->files);
  if (chain->raw_end) source.opener = ImageOpener::qcow_over_raw;
  if (opener == ImageOpener::vhd) {
    auto loaded = load_vhd_chain(vhdi_api(), source.files);
    if (!loaded) {
      detection.kind = Detection::Kind::unreadable;
      detection.detail = format.name + " (" + format.evidence + "): " + loaded.error();
      return detection;
    }
    source.vhd = std::move(*loaded);
  }
  ImgPtr img = open_source(source);
  if (!img) {
    detection.kind = Detection::Kind::unreadable;
    detection.detail = tsk_error_text("open " + format.name);
    return detection;
  }
  detection.kind = Detection::Kind::image;
  detection.layout = build_layout(img.get(), std::move(source), false).layout;
  return detection;
}

// Whether the first bytes of `path` make it a raw disk candidate (0x55AA, "EFI PART").
bool looks_like_raw_disk(const std::string& path) {
  Head head;
  std::string error;
  return read_head(path, head, error) == HeadStatus::ok && classify(head).candidate == Candidate::raw;
}

// `path` as a segment of a split raw set (split_raw.h); nullopt when it is none, or when it does
// not look like a disk (`raw_candidate`: 0x55AA or "EFI PART" in its first sector) and --image was
// not given: such a file is scanned as a file, as before.
std::optional<Detection> detect_split(const std::string& path, ImageMode mode, bool raw_candidate) {
  const bool forced = mode == ImageMode::forced;
  SplitSet split = split_set_of(path, forced || raw_candidate);
  Detection detection;
  switch (split.kind) {
    case SplitSet::Kind::none:
      return std::nullopt;
    case SplitSet::Kind::later:
      // Only when the set's first segment is a disk: "x.002" beside a non-disk "x.001" is a file.
      if (!forced && !looks_like_raw_disk(split.first)) return std::nullopt;
      detection.kind = Detection::Kind::unsupported;
      detection.detail = split.detail;
      return detection;
    case SplitSet::Kind::gap:
    case SplitSet::Kind::refused:
      if (!forced && !raw_candidate) return std::nullopt;
      detection.kind = Detection::Kind::unreadable;
      detection.detail = split.detail;
      return detection;
    case SplitSet::Kind::set:
      break;
  }
  if (!forced && !raw_candidate) return std::nullopt;
  ImageSource source{path, TSK_IMG_TYPE_RAW, nullptr, ImageOpener::split_raw, std::move(split.segments), "raw-split"};
  ImgPtr img = open_source(source);
  if (!img) {
    detection.kind = Detection::Kind::unreadable;
    detection.detail = tsk_error_text("open split raw set");
    return detection;
  }
  Built built = build_layout(img.get(), std::move(source), !forced);
  if (!forced && !built.confirmed) return std::nullopt;
  detection.kind = Detection::Kind::image;
  detection.layout = std::move(built.layout);
  return detection;
}

}  // namespace

ImageLayout layout_of(TSK_IMG_INFO* img, const std::string& path) {
  return build_layout(img, ImageSource{path, img->itype, nullptr, ImageOpener::tsk, {}, {}}, false).layout;
}

Detection detect_image(const std::string& path, ImageMode mode) {
  Detection detection;
  Head head;
  std::string error;
  switch (read_head(path, head, error)) {
    case HeadStatus::not_a_file:
      return detection;
    case HeadStatus::unreadable:
      // Not forced: the walk reports a file's open error as for any other file; a block device
      // is a disk the walk does not open, so its open error is the image's.
      if (mode == ImageMode::forced || head.device) {
        detection.kind = Detection::Kind::unreadable;
        detection.detail = std::move(error);
      }
      return detection;
    case HeadStatus::ok:
      break;
  }
  const Classified classified = classify(head);
  // A format flscan cannot open is reported as what it is, --image or not (a qcow2 read as a raw
  // disk would only give "unknown-filesystem"; read as a file, it would pass as clean).
  if (classified.candidate == Candidate::unsupported) {
    detection.kind = Detection::Kind::unsupported;
    detection.detail = unsupported_detail(*classified.format);
    return detection;
  }
  // A split raw set named by its first segment (or a later one, or one with a hole).
  if (!head.device && classified.candidate != Candidate::container) {
    if (auto split = detect_split(path, mode, classified.candidate == Candidate::raw)) return std::move(*split);
  }
  // A block device named as PATH is a disk (issue 12): opened as an image as --image does, so
  // whatever TSK cannot read in it is reported, never skipped.
  const Candidate candidate = mode == ImageMode::forced || head.device ? Candidate::container : classified.candidate;
  if (candidate == Candidate::none) return detection;

  // A format read through a libyal library, with its parent files (issue 15).
  if (classified.candidate == Candidate::container) {
    if (const auto opener = libyal_opener(*classified.format))
      return detect_chain(path, *opener, *classified.format, head);
  }

  ImgPtr img = open_source(ImageSource{path, TSK_IMG_TYPE_DETECT, nullptr, ImageOpener::tsk, {}, {}});
  if (!img) {
    // Without a usable libtsk, a raw candidate may be a disk image nobody can look into: NOT
    // SCANNED (the reason names the library), never one plain file called clean.
    if (candidate == Candidate::raw && tsk_unavailable() == nullptr) return detection;
    detection.kind = Detection::Kind::unreadable;
    detection.detail = tsk_error_text("open image");
    return detection;
  }
  // TSK falls back to raw when the container library refuses the file: those bytes are not the
  // disk, so a container signature that did not open as its container is an unreadable image.
  if (classified.expected != TSK_IMG_TYPE_DETECT && (img->itype & classified.expected) == 0) {
    detection.kind = Detection::Kind::unreadable;
    detection.detail = classified.format->name + " signature, but The Sleuth Kit cannot open the file as " +
                       classified.format->name + " (damaged or cut short)";
    return detection;
  }
  Built built = build_layout(img.get(), ImageSource{path, TSK_IMG_TYPE_DETECT, nullptr, ImageOpener::tsk, {}, {}},
                             candidate == Candidate::raw);
  if (candidate == Candidate::raw && !built.confirmed) return detection;
  detection.kind = Detection::Kind::image;
  detection.layout = std::move(built.layout);
  return detection;
}

tl::expected<OpenedVolume, std::string> open_volume_filesystem(TSK_IMG_INFO* container, const VolumeLayout& volume) {
  OpenedVolume opened;
  TSK_IMG_INFO* img = container;
  TSK_OFF_T offset = static_cast<TSK_OFF_T>(volume.report.offset);
  if (volume.layer) {
    auto layer = volume.layer->open(container);
    if (!layer) return tl::make_unexpected(std::move(layer.error()));
    opened.layer = std::move(*layer);
    img = opened.layer.get();
    offset = 0;
  }
  tsk_error_reset();
  opened.fs.reset(tsk_fs_open_img(img, offset, volume.fs_type));
  if (!opened.fs) return tl::make_unexpected(tsk_error_text("open filesystem"));
  return opened;
}

}  // namespace flscan::scanner::image
