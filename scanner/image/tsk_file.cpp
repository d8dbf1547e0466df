#include "scanner/image/tsk_file.h"

#include <algorithm>
#include <limits>

#include "scanner/image/limits.h"

namespace flscan::scanner::image {

tl::expected<TSK_FS_INFO*, std::string> ThreadImages::filesystem(std::size_t image_index, const ImageLayout& layout,
                                                                 std::size_t volume) {
  if (images_.size() <= image_index) images_.resize(image_index + 1);
  Opened& opened = images_[image_index];
  if (!opened.tried) {
    opened.tried = true;
    opened.img = open_source(layout.source);
    if (!opened.img) {
      opened.error = tsk_error_text("open image");
    } else if (static_cast<std::uint64_t>(opened.img->size) != layout.size) {
      opened.error = "the image changed size since it was listed (" + std::to_string(layout.size) + " then " +
                     std::to_string(opened.img->size) + " bytes)";
      opened.img.reset();
    }
    opened.volumes.resize(layout.volumes.size());
    opened.fs_errors.resize(layout.volumes.size());
  }
  if (!opened.img) return tl::make_unexpected(opened.error);
  if (volume >= opened.volumes.size()) return tl::make_unexpected(std::string("no such volume"));
  OpenedVolume& fs = opened.volumes[volume];
  if (!fs.fs) {
    // A volume that failed once fails for every file of it: answer from the first failure rather
    // than re-opening the filesystem for each of up to millions of files.
    if (!opened.fs_errors[volume].empty()) return tl::make_unexpected(opened.fs_errors[volume]);
    auto opened_volume = open_volume_filesystem(opened.img.get(), layout.volumes[volume]);
    if (!opened_volume) {
      opened.fs_errors[volume] = opened_volume.error().empty() ? "open filesystem: failed" : opened_volume.error();
      return tl::make_unexpected(opened.fs_errors[volume]);
    }
    fs = std::move(*opened_volume);
  }
  return fs.fs.get();
}

tl::expected<std::unique_ptr<TskFile>, ReadError> TskFile::open(TSK_FS_INFO* fs, TSK_INUM_T inum) {
  tsk_error_reset();
  FilePtr file(tsk_fs_file_open_meta(fs, nullptr, inum));
  if (!file || file->meta == nullptr) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::io_error, tsk_error_text("open metadata entry " + std::to_string(inum))});
  }
  const TSK_FS_META& meta = *file->meta;
  if ((meta.flags & TSK_FS_META_FLAG_UNALLOC) != 0) {
    return tl::make_unexpected(
        ReadError{NotScannedReason::io_error,
                  "the name points at metadata entry " + std::to_string(inum) + ", which is not allocated"});
  }
  if (meta.type != TSK_FS_META_TYPE_REG) {
    return tl::make_unexpected(ReadError{NotScannedReason::io_error, "listed as a regular file, but metadata entry " +
                                                                         std::to_string(inum) + " is not one"});
  }
  if (meta.size < 0)
    return tl::make_unexpected(ReadError{NotScannedReason::io_error, "negative file size in the metadata"});
  // TSK reads data stored past the end of a truncated image as zeros: such a file would look
  // clean. Its data runs say where it lies; any run past the image is NOT SCANNED instead.
  tsk_error_reset();
  const TSK_FS_ATTR* attr = tsk_fs_file_attr_get(file.get());
  if (attr == nullptr) {
    if (meta.size == 0) {
      tsk_error_reset();
      return std::unique_ptr<TskFile>(new TskFile(std::move(file)));
    }
    return tl::make_unexpected(ReadError{NotScannedReason::io_error, tsk_error_text("find the file's data")});
  }
  // NTFS EFS: TSK hands out the ciphertext, which would scan as clean bytes it is not.
  if ((attr->flags & TSK_FS_ATTR_ENC) != 0) {
    return tl::make_unexpected(ReadError{NotScannedReason::encrypted_volume,
                                         "the file is encrypted (NTFS EFS): only its ciphertext is in the image"});
  }
  if ((attr->flags & TSK_FS_ATTR_NONRES) != 0) {
    std::size_t runs = 0;
    for (const TSK_FS_ATTR_RUN* run = attr->nrd.run; run != nullptr; run = run->next) {
      if (++runs > limits::kMaxRunsChecked) {
        return tl::make_unexpected(ReadError{NotScannedReason::unreadable_image,
                                             "more than " + std::to_string(limits::kMaxRunsChecked) + " data runs"});
      }
      // A filler run is data TSK never found (a lost or damaged attribute-list record): TSK would
      // read it as zeros without an error, so the file could pass for clean. Sparse runs are
      // real holes and read as the zeros they are.
      if ((run->flags & TSK_FS_ATTR_RUN_FLAG_FILLER) != 0) {
        return tl::make_unexpected(ReadError{NotScannedReason::unreadable_image,
                                             "part of the file's data runs is missing from the file system's records"});
      }
      if ((run->flags & TSK_FS_ATTR_RUN_FLAG_SPARSE) != 0 || run->len == 0) continue;
      const TSK_DADDR_T last = run->addr + run->len - 1;
      if (last < run->addr || last > fs->last_block_act) {
        return tl::make_unexpected(
            ReadError{NotScannedReason::unreadable_image,
                      "data in blocks " + std::to_string(run->addr) + "-" + std::to_string(last) +
                          " lies past the end of the image (last block present: " + std::to_string(fs->last_block_act) +
                          "): the image is truncated"});
      }
    }
  }
  return std::unique_ptr<TskFile>(new TskFile(std::move(file)));
}

tl::expected<FileStamp, ReadError> TskFile::stamp() {
  const TSK_FS_META& meta = *file_->meta;
  return FileStamp{static_cast<std::uint64_t>(meta.size), static_cast<std::int64_t>(meta.mtime),
                   static_cast<std::int64_t>(meta.mtime_nano), static_cast<std::int64_t>(meta.ctime),
                   static_cast<std::int64_t>(meta.ctime_nano)};
}

std::optional<host::FileTimes> TskFile::times() {
  const TSK_FS_META& meta = *file_->meta;
  // TSK leaves a time it does not know at zero.
  const auto point = [](std::int64_t seconds, std::int64_t nanoseconds) -> std::optional<host::TimePoint> {
    if (seconds == 0 && nanoseconds == 0) return std::nullopt;
    if (nanoseconds < 0 || nanoseconds > 999999999) nanoseconds = 0;
    return host::TimePoint{seconds, static_cast<std::uint32_t>(nanoseconds)};
  };
  host::FileTimes times;
  const TSK_FS_TYPE_ENUM type = file_->fs_info != nullptr ? file_->fs_info->ftype : TSK_FS_TYPE_UNSUPP;
  times.source = TSK_FS_TYPE_ISNTFS(type)  ? host::TimeSource::ntfs
                 : TSK_FS_TYPE_ISFAT(type) ? host::TimeSource::fat
                                           : host::TimeSource::image;
  times.modified = point(meta.mtime, meta.mtime_nano);
  times.accessed = point(meta.atime, meta.atime_nano);
  times.created = point(meta.crtime, meta.crtime_nano);
  // FAT has no change time (TSK leaves ctime at zero there).
  if (times.source != host::TimeSource::fat) times.changed = point(meta.ctime, meta.ctime_nano);
  if (times.source == host::TimeSource::ntfs) {
    const auto& fn = meta.time2.ntfs;
    times.fn_created = point(fn.fn_crtime, fn.fn_crtime_nano);
    times.fn_modified = point(fn.fn_mtime, fn.fn_mtime_nano);
    times.fn_accessed = point(fn.fn_atime, fn.fn_atime_nano);
    times.fn_changed = point(fn.fn_ctime, fn.fn_ctime_nano);
  }
  return times;
}

tl::expected<std::size_t, ReadError> TskFile::read_at(std::uint64_t offset, std::uint8_t* out, std::size_t length) {
  const auto size = static_cast<std::uint64_t>(file_->meta->size);
  if (offset >= size) return 0;
  const std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(length, size - offset));
  std::size_t done = 0;
  while (done < wanted) {
    tsk_error_reset();
    const std::size_t chunk =
        std::min<std::size_t>(wanted - done, static_cast<std::size_t>(std::numeric_limits<ssize_t>::max()));
    const ssize_t n = tsk_fs_file_read(file_.get(), static_cast<TSK_OFF_T>(offset + done),
                                       reinterpret_cast<char*>(out + done), chunk, TSK_FS_FILE_READ_FLAG_NONE);
    if (n < 0)
      return tl::make_unexpected(
          ReadError{NotScannedReason::io_error, tsk_error_text("read at offset " + std::to_string(offset + done))});
    if (n == 0) {
      return tl::make_unexpected(ReadError{NotScannedReason::unreadable_image,
                                           "TSK returned no data at offset " + std::to_string(offset + done) +
                                               " of a " + std::to_string(size) + "-byte file"});
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace flscan::scanner::image
