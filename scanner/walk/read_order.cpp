#include "scanner/walk/read_order.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string_view>
#include <tuple>

#include "engine/limits.h"
#include "scanner/platform/fd.h"

namespace flscan::scanner {
namespace {

// The first bytes of a sysfs attribute: one read of at most limits::kSysfsReadBytes (a sysfs file
// is generated whole by its first read); nullopt when it cannot be opened or read.
std::optional<std::string> read_sysfs(const std::string& path) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) return std::nullopt;
  std::array<char, limits::kSysfsReadBytes> buffer{};
  ssize_t n = -1;
  do {
    n = ::read(fd.get(), buffer.data(), buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;
  return std::string(buffer.data(), static_cast<std::size_t>(n));
}

// queue/rotational holds "0\n" or "1\n".
std::optional<bool> read_rotational(const std::string& path) {
  const std::optional<std::string> text = read_sysfs(path);
  if (!text || text->empty()) return std::nullopt;
  if ((*text)[0] == '1') return true;
  if ((*text)[0] == '0') return false;
  return std::nullopt;
}

// The device's name from its uevent's DEVNAME= line ("sda1"), or `fallback`. Only printable
// characters of a name are kept: it goes into the report.
std::string device_name(const std::string& device, const std::string& fallback) {
  const std::optional<std::string> uevent = read_sysfs(device + "/uevent");
  if (!uevent) return fallback;
  constexpr std::string_view kKey = "DEVNAME=";
  std::size_t start = 0;
  while (start < uevent->size()) {
    std::size_t end = uevent->find('\n', start);
    if (end == std::string::npos) end = uevent->size();
    const std::string_view line(uevent->data() + start, end - start);
    if (line.starts_with(kKey)) {
      std::string name(line.substr(kKey.size()));
      const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == '/' || c == ':';
      });
      return plain ? name : fallback;
    }
    start = end + 1;
  }
  return fallback;
}

}  // namespace

ReadOrderChoice choose_read_order(ReadOrderMode mode, dev_t dev, const std::string& sysfs_root) {
  if (mode == ReadOrderMode::disk) return {ReadOrder::disk, "--read-order disk"};
  if (mode == ReadOrderMode::listing) return {ReadOrder::listing, "--read-order listing"};
  const std::string number = std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
  // Anonymous device numbers (tmpfs, overlay, FUSE, NFS, btrfs, proc...) are major 0: no block
  // device, no sysfs entry, nothing to read.
  if (major(dev) == 0) return {ReadOrder::listing, "auto: not a block device (" + number + ")"};
  const std::string device = sysfs_root + "/dev/block/" + number;
  std::optional<bool> rotational = read_rotational(device + "/queue/rotational");
  // A partition has no queue of its own: its disk's is the directory above it (sysfs resolves the
  // MAJ:MIN link first, so ".." is the disk's directory).
  if (!rotational && ::access((device + "/partition").c_str(), F_OK) == 0) {
    rotational = read_rotational(device + "/../queue/rotational");
  }
  if (!rotational) return {ReadOrder::listing, "auto: no rotational flag for block device " + number};
  const std::string name = device_name(device, number);
  if (*rotational) return {ReadOrder::disk, "auto: rotational device " + name};
  return {ReadOrder::listing, "auto: non-rotational device " + name};
}

void sort_by_disk_position(std::vector<PlacedFile>& files) {
  // kNoExtent is the largest offset: those files come last, among themselves in listing order.
  std::sort(files.begin(), files.end(), [](const PlacedFile& a, const PlacedFile& b) {
    return std::tie(a.physical, a.listing_index) < std::tie(b.physical, b.listing_index);
  });
}

bool ExtentProbe::supported(dev_t dev) const {
  const std::lock_guard lock(mutex_);
  return std::find(unsupported_.begin(), unsupported_.end(), dev) == unsupported_.end();
}

void ExtentProbe::mark_unsupported(dev_t dev) {
  const std::lock_guard lock(mutex_);
  if (unsupported_.size() >= limits::kMaxNoFiemapDevices) return;
  if (std::find(unsupported_.begin(), unsupported_.end(), dev) == unsupported_.end()) unsupported_.push_back(dev);
}

std::uint64_t ExtentProbe::first_physical_byte(int dir_fd, const char* name, dev_t dev, ino_t ino) {
  if (!supported(dev)) return kNoExtent;
  // No O_NOATIME: nothing is read, so the access time does not change. O_NONBLOCK also keeps the
  // open from waiting for a lease holder to release the file.
  const Fd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return kNoExtent;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino) return kNoExtent;
  // struct fiemap ends in a flexible array: the request and its one extent are copied in and out
  // of a buffer of both, so no object is accessed past its declared size.
  static_assert(offsetof(struct fiemap, fm_extents) == sizeof(struct fiemap));
  alignas(struct fiemap) std::array<unsigned char, sizeof(struct fiemap) + sizeof(struct fiemap_extent)> buffer{};
  struct fiemap request {};
  request.fm_start = 0;
  request.fm_length = FIEMAP_MAX_OFFSET;
  request.fm_flags = 0;
  request.fm_extent_count = 1;
  std::memcpy(buffer.data(), &request, sizeof request);
  if (::ioctl(fd.get(), FS_IOC_FIEMAP, buffer.data()) != 0) {
    if (errno == EOPNOTSUPP || errno == ENOTTY) mark_unsupported(dev);
    return kNoExtent;
  }
  std::memcpy(&request, buffer.data(), sizeof request);
  if (request.fm_mapped_extents == 0) return kNoExtent;  // empty, or holes only
  struct fiemap_extent extent {};
  std::memcpy(&extent, buffer.data() + sizeof(struct fiemap), sizeof extent);
  // Data not yet placed (delayed allocation) or kept in the inode: no position to sort by.
  if ((extent.fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DATA_INLINE)) != 0) return kNoExtent;
  return extent.fe_physical;
}

}  // namespace flscan::scanner
