// Reading a file inside a disk image: the per-thread TSK handles of the images being scanned, and
// one file opened by its metadata address as a RandomAccessFile, so FileReader treats it exactly
// as a file of a directory (sniff, plan, whole or streamed read).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>
#include <tsk/libtsk.h>

#include "scanner/walk/file_reader.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {

// One worker thread's own TSK handles (TSK handles are not shared between threads, see
// tsk_handle.h): an image opened again per thread, and each of its volumes' filesystems opened on
// first use. Owned by one thread; never shared.
class ThreadImages {
 public:
  // The filesystem of volume `volume` of image `image_index` (an index the caller keeps stable
  // for the scan), opened on this thread's handles; the error text when it cannot be opened.
  [[nodiscard]] tl::expected<TSK_FS_INFO*, std::string> filesystem(std::size_t image_index, const ImageLayout& layout,
                                                                   std::size_t volume);

 private:
  struct Opened {
    ImgPtr img;                          // declared first: destroyed after the volumes opened in it
    std::vector<OpenedVolume> volumes;   // by volume index, opened on first use
    std::vector<std::string> fs_errors;  // by volume index: why it did not open (kept, not retried per file)
    std::string error;                   // the image could not be opened on this thread
    bool tried = false;
  };
  std::vector<Opened> images_;
};

// A regular file of a volume, opened by metadata address on the calling thread's handles. Its data
// is the default data stream (the unnamed $DATA on NTFS), read with tsk_fs_file_read.
class TskFile final : public RandomAccessFile {
 public:
  // The file, or why it cannot be read: metadata that cannot be loaded, that is not allocated or
  // not a regular file (io-error), data runs outside the image (unreadable-image: a truncated image).
  [[nodiscard]] static tl::expected<std::unique_ptr<TskFile>, ReadError> open(TSK_FS_INFO* fs, TSK_INUM_T inum);

  tl::expected<FileStamp, ReadError> stamp() override;
  tl::expected<std::size_t, ReadError> read_at(std::uint64_t offset, std::uint8_t* out, std::size_t length) override;
  // The metadata's times, named for the volume's file system (issue 20): NTFS's four
  // $STANDARD_INFORMATION times (TSK's ctime is the MFT-record change time) and the $FILE_NAME
  // times TSK loaded with them; FAT's dates (TSK converts them from local time with the time zone
  // of this process); other file systems' POSIX-like times.
  std::optional<host::FileTimes> times() override;

 private:
  explicit TskFile(FilePtr file) : file_(std::move(file)) {}
  FilePtr file_;
};

}  // namespace flscan::scanner::image
