#include "scanner/image/volume_walk.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "scanner/image/limits.h"
#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {
namespace {

// NTFS MFT entries 0-15 are the filesystem's own files ($MFT ... $Extend); a mounted volume does
// not list them either.
constexpr TSK_INUM_T kNtfsFirstUserEntry = 16;

struct Frame {
  TSK_INUM_T inum = 0;
  std::string path;  // inside the volume; empty for the root
  DirPtr dir;
  std::size_t next = 0;
  std::size_t count = 0;
};

class VolumeWalk {
 public:
  VolumeWalk(TSK_FS_INFO* fs, const std::string& volume_path, const WalkOptions& options)
      : fs_(fs),
        volume_path_(volume_path),
        options_(options),
        ntfs_(TSK_FS_TYPE_ISNTFS(fs->ftype) != 0),
        fat_(TSK_FS_TYPE_ISFAT(fs->ftype) != 0) {}

  VolumeListing run() {
    enter(fs_->root_inum, std::string());
    while (!stack_.empty() && !stopped_) step();
    return std::move(out_);
  }

 private:
  [[nodiscard]] std::string full(const std::string& path) const {
    return path.empty() ? volume_path_ : volume_path_ + "/" + path;
  }
  [[nodiscard]] bool owns(std::string_view path) const { return !options_.owns || options_.owns(path); }

  void not_scanned(const std::string& path, NotScannedReason reason, std::string detail) {
    out_.not_scanned.push_back(NotScannedEntry{full(path), reason, std::move(detail)});
  }
  void skipped(const std::string& path, SkipReason reason, std::string detail) {
    if (owns(path)) out_.skipped.push_back(SkippedEntry{full(path), reason, std::move(detail)});
  }
  // Ends the walk of this volume with one entry on the volume itself (a cap was reached).
  void stop(std::string detail) {
    not_scanned(std::string(), NotScannedReason::unlistable_directory, std::move(detail));
    stopped_ = true;
  }

  void enter(TSK_INUM_T inum, std::string path) {
    tsk_error_reset();
    DirPtr dir(tsk_fs_dir_open_meta(fs_, inum));
    if (!dir) {
      not_scanned(path, NotScannedReason::unlistable_directory, tsk_error_text("open directory"));
      return;
    }
    if (owns(path)) ++out_.directories;
    std::size_t count = tsk_fs_dir_getsize(dir.get());
    if (count > limits::kMaxEntriesPerDirectory) {
      not_scanned(path, NotScannedReason::unlistable_directory,
                  "the directory holds " + std::to_string(count) + " entries; only the first " +
                      std::to_string(limits::kMaxEntriesPerDirectory) + " are examined");
      count = limits::kMaxEntriesPerDirectory;
    }
    stack_.push_back(Frame{inum, std::move(path), std::move(dir), 0, count});
  }

  // TSK lists a FAT volume label as an empty regular file named "<label> (Volume Label Entry)"
  // (a mounted volume does not show it).
  [[nodiscard]] bool is_volume_label(const TSK_FS_NAME& name) const {
    constexpr std::string_view kSuffix = " (Volume Label Entry)";
    if (!std::string_view(name.name).ends_with(kSuffix)) return false;
    tsk_error_reset();
    FilePtr file(tsk_fs_file_open_meta(fs_, nullptr, name.meta_addr));
    tsk_error_reset();
    return file && file->meta != nullptr && file->meta->size == 0;
  }

  [[nodiscard]] bool on_current_path(TSK_INUM_T inum) const {
    return std::any_of(stack_.begin(), stack_.end(), [inum](const Frame& frame) { return frame.inum == inum; });
  }

  // The name's type; TSK leaves some UNDEF, then the metadata says.
  TSK_FS_NAME_TYPE_ENUM type_of(const TSK_FS_NAME& name) {
    if (name.type != TSK_FS_NAME_TYPE_UNDEF) return name.type;
    tsk_error_reset();
    FilePtr file(tsk_fs_file_open_meta(fs_, nullptr, name.meta_addr));
    tsk_error_reset();
    if (!file || file->meta == nullptr) return TSK_FS_NAME_TYPE_UNDEF;
    switch (file->meta->type) {
      case TSK_FS_META_TYPE_REG:
        return TSK_FS_NAME_TYPE_REG;
      case TSK_FS_META_TYPE_DIR:
        return TSK_FS_NAME_TYPE_DIR;
      case TSK_FS_META_TYPE_LNK:
        return TSK_FS_NAME_TYPE_LNK;
      default:
        return TSK_FS_NAME_TYPE_UNDEF;
    }
  }

  void step() {
    Frame& top = stack_.back();
    if (top.next >= top.count) {
      stack_.pop_back();
      return;
    }
    const TSK_FS_NAME* name = tsk_fs_dir_get_name(top.dir.get(), top.next++);
    // Counted before anything is skipped: nameless entries must not escape the cap.
    if (++names_examined_ > limits::kMaxDirectoryEntriesPerVolume) {
      stop("more than " + std::to_string(limits::kMaxDirectoryEntriesPerVolume) +
           " directory entries in this volume: the walk stopped there");
      return;
    }
    if (name == nullptr || name->name == nullptr || name->name[0] == '\0') return;
    if (TSK_FS_ISDOT(name->name)) return;
    if ((name->flags & TSK_FS_NAME_FLAG_ALLOC) == 0) return;  // deleted: out of scope
    if (name->type == TSK_FS_NAME_TYPE_VIRT || name->type == TSK_FS_NAME_TYPE_VIRT_DIR) return;
    if (ntfs_ && name->meta_addr < kNtfsFirstUserEntry) return;
    if (fat_ && is_volume_label(*name)) return;

    const std::string_view leaf(name->name);
    std::string path = top.path.empty() ? std::string(leaf) : top.path + "/" + std::string(leaf);
    if (path.size() > limits::kMaxPathBytes) {
      not_scanned(
          top.path, NotScannedReason::too_deep,
          "an entry's path is longer than " + std::to_string(limits::kMaxPathBytes) + " bytes; it is not examined");
      return;
    }
    if (options_.excludes != nullptr && !options_.excludes->empty()) {
      if (const std::string* pattern = options_.excludes->match(leaf, path)) {
        skipped(path, SkipReason::excluded, "--exclude " + *pattern);
        return;
      }
    }
    const TSK_INUM_T inum = name->meta_addr;
    switch (type_of(*name)) {
      case TSK_FS_NAME_TYPE_REG:
        add_file(inum, std::move(path));
        return;
      case TSK_FS_NAME_TYPE_DIR:
        add_directory(inum, std::move(path));
        return;
      case TSK_FS_NAME_TYPE_LNK:
        skipped(path, SkipReason::symlink, "symbolic link inside a disk image (never followed)");
        return;
      case TSK_FS_NAME_TYPE_FIFO:
        skipped(path, SkipReason::fifo, "FIFO inside a disk image");
        return;
      case TSK_FS_NAME_TYPE_SOCK:
        skipped(path, SkipReason::socket, "socket inside a disk image");
        return;
      case TSK_FS_NAME_TYPE_CHR:
      case TSK_FS_NAME_TYPE_BLK:
        skipped(path, SkipReason::device, "device inside a disk image");
        return;
      default:
        skipped(path, SkipReason::other_type, "neither a regular file nor a directory");
        return;
    }
  }

  void add_file(TSK_INUM_T inum, std::string path) {
    if (!owns(path)) {
      ++out_.files_other_shards;
      return;
    }
    if (out_.files.size() >= limits::kMaxFilesPerVolume) {
      stop("more than " + std::to_string(limits::kMaxFilesPerVolume) + " files in this volume: the walk stopped there");
      return;
    }
    out_.files.push_back(ListedFile{inum, std::move(path), data_start(inum)});
  }

  // The byte offset of the first allocated run of the file's default data stream (ListedFile).
  [[nodiscard]] std::uint64_t data_start(TSK_INUM_T inum) const {
    tsk_error_reset();
    FilePtr file(tsk_fs_file_open_meta(fs_, nullptr, inum));
    const TSK_FS_ATTR* attr = file ? tsk_fs_file_attr_get(file.get()) : nullptr;
    tsk_error_reset();
    if (attr == nullptr || (attr->flags & TSK_FS_ATTR_NONRES) == 0) return kUnknownDataStart;
    std::size_t examined = 0;
    for (const TSK_FS_ATTR_RUN* run = attr->nrd.run; run != nullptr && examined < limits::kMaxRunsForReadOrder;
         run = run->next, ++examined) {
      if ((run->flags & (TSK_FS_ATTR_RUN_FLAG_FILLER | TSK_FS_ATTR_RUN_FLAG_SPARSE)) != 0) continue;
      std::uint64_t start = 0;
      if (__builtin_mul_overflow(static_cast<std::uint64_t>(run->addr), static_cast<std::uint64_t>(fs_->block_size),
                                 &start) ||
          __builtin_add_overflow(start, static_cast<std::uint64_t>(fs_->offset), &start)) {
        return kUnknownDataStart;
      }
      return start;
    }
    return kUnknownDataStart;
  }

  void add_directory(TSK_INUM_T inum, std::string path) {
    if (on_current_path(inum)) {
      not_scanned(path, NotScannedReason::loop,
                  "directory (metadata address " + std::to_string(inum) +
                      ") is its own ancestor: a loop in the directory tree");
      return;
    }
    if (stack_.size() >= limits::kMaxDirectoryDepth) {
      not_scanned(path, NotScannedReason::too_deep,
                  "directories nested deeper than " + std::to_string(limits::kMaxDirectoryDepth) + " levels");
      return;
    }
    enter(inum, std::move(path));
  }

  TSK_FS_INFO* fs_;
  const std::string& volume_path_;
  const WalkOptions& options_;
  bool ntfs_;
  bool fat_;
  std::vector<Frame> stack_;
  VolumeListing out_;
  std::uint64_t names_examined_ = 0;
  bool stopped_ = false;
};

}  // namespace

VolumeListing list_volume(TSK_FS_INFO* fs, const std::string& volume_path, const WalkOptions& options) {
  return VolumeWalk(fs, volume_path, options).run();
}

}  // namespace flscan::scanner::image
