// Reads in on-disk order for a directory tree (issue 19). On a disk whose seek costs ~10 ms (a
// 20-year-old drive read from a boot CD) the order of the reads decides the scan's time: a
// directory's files are written wherever the file system found room when each arrived, and listed
// in hash or name order, so reading them as listed sends the head back and forth. With
// --read-order disk the walk holds the regular files of each directory (in batches of at most
// limits::kMaxReadOrderBatch), asks the file system where each one's data starts (FIEMAP, one
// extent), and reads them in the order of that first physical byte, several workers taking the next
// file in turn, as the disk images' files are read (scanner/app/scan_job.cpp).
//
// --read-order auto (the default) decides once per PATH operand: disk order when the file system
// holding it sits on a block device whose queue says rotational (sysfs: /sys/dev/block/MAJ:MIN,
// its parent disk's queue for a partition), listing order otherwise: SSDs and NVMe (seeks cost
// nothing), and every file system whose st_dev names no block device (tmpfs, overlay, FUSE, NFS,
// btrfs: their anonymous device numbers have major 0), for which nothing is read from sysfs and no
// FIEMAP is ever tried. A virtual disk may call itself rotational (virtio does): disk order then
// costs one open, fstat, ioctl and close per file and changes nothing reported.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "scanner/report/report.h"

namespace flscan::scanner {

// --read-order auto|disk|listing.
enum class ReadOrderMode { automatic, disk, listing };

// What a PATH operand's files are read in, and why, for the report (RootFacts::read_order).
struct ReadOrderChoice {
  ReadOrder order = ReadOrder::listing;
  std::string reason;  // "--read-order disk", "auto: rotational device sda", "auto: not a block device (0:45)"...
};

// Where the automatic choice reads the block devices' queues; tests give a tree of their own.
inline constexpr const char* kSysfsRoot = "/sys";

// The order for a PATH operand on the file system `dev` (its st_dev): `mode` itself unless it is
// automatic; then disk order when `sysfs_root`/dev/block/MAJ:MIN/queue/rotational (for a partition,
// that of its disk, MAJ:MIN/../queue/rotational) reads "1". A device number of major 0 (no block
// device) reads nothing. Each sysfs file is read once, at most limits::kSysfsReadBytes.
[[nodiscard]] ReadOrderChoice choose_read_order(ReadOrderMode mode, dev_t dev, const std::string& sysfs_root);

// One file of a directory batch: its first physical byte on the device (kNoExtent when not known)
// and its position in the directory's listing.
inline constexpr std::uint64_t kNoExtent = std::numeric_limits<std::uint64_t>::max();
struct PlacedFile {
  std::uint64_t physical = kNoExtent;
  std::size_t listing_index = 0;
};

// Sorts `files` into reading order: ascending first physical byte; files without one (empty, data
// inline in the inode, no FIEMAP, an error) last, in listing order.
void sort_by_disk_position(std::vector<PlacedFile>& files);

// The FIEMAP lookups of one walk (shared by its threads), remembering the file systems that do not
// support it so that their files are not asked again.
class ExtentProbe {
 public:
  // The first physical byte of the data of `name`, a regular file of the directory open as
  // `dir_fd` which its listing found to be (`dev`, `ino`); kNoExtent when it has none or it cannot
  // be told. Opened relative to the directory with O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
  // O_CLOEXEC (a name swapped for a FIFO cannot block the open, a symlink is not followed), checked
  // by fstat to be that very regular file, asked FS_IOC_FIEMAP for one extent (no
  // FIEMAP_FLAG_SYNC: nothing is written back), closed. No byte of it is read.
  [[nodiscard]] std::uint64_t first_physical_byte(int dir_fd, const char* name, dev_t dev, ino_t ino);
  // False once a file of `dev` answered FIEMAP with EOPNOTSUPP or ENOTTY.
  [[nodiscard]] bool supported(dev_t dev) const;

 private:
  void mark_unsupported(dev_t dev);

  mutable std::mutex mutex_;
  std::vector<dev_t> unsupported_;  // at most limits::kMaxNoFiemapDevices
};

}  // namespace flscan::scanner
