// Owning handles for The Sleuth Kit's C objects, and its error text.
//
// Thread-safety rules of TSK 4.11 that flscan follows (tsk/img/img_io.c, tsk/fs/tsk_fs.h):
//  - tsk_img_read() holds the image's cache_lock for the whole read, backend included (raw file,
//    libewf, libvhdi, libvmdk handles are only safe under it): one TSK_IMG_INFO shared by every
//    worker would serialise all reads of an image on one mutex.
//  - TSK_FS_INFO guards its shared caches with locks (list_inum_named_lock, orphan_dir_lock,
//    NTFS bitmap/orphan/SID locks, FAT cache_lock), but the TSK_FS_FILE, TSK_FS_DIR and TSK_FS_META
//    objects it returns load their attributes lazily without a lock: they must never be shared
//    between threads.
//  - The error state (tsk_error_get) is per thread.
// So every worker thread opens its own TSK_IMG_INFO and TSK_FS_INFO per volume (tsk_file.h),
// each TSK_FS_FILE lives on the thread that opened it, and the listing walk runs on one thread
// with its own handles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <tsk/libtsk.h>

namespace flscan::scanner::image {

struct ImgCloser {
  void operator()(TSK_IMG_INFO* img) const { tsk_img_close(img); }
};
struct VsCloser {
  void operator()(TSK_VS_INFO* vs) const { tsk_vs_close(vs); }
};
struct FsCloser {
  void operator()(TSK_FS_INFO* fs) const { tsk_fs_close(fs); }
};
struct FileCloser {
  void operator()(TSK_FS_FILE* file) const { tsk_fs_file_close(file); }
};
struct DirCloser {
  void operator()(TSK_FS_DIR* dir) const { tsk_fs_dir_close(dir); }
};
using ImgPtr = std::unique_ptr<TSK_IMG_INFO, ImgCloser>;
using VsPtr = std::unique_ptr<TSK_VS_INFO, VsCloser>;
using FsPtr = std::unique_ptr<TSK_FS_INFO, FsCloser>;
using FilePtr = std::unique_ptr<TSK_FS_FILE, FileCloser>;
using DirPtr = std::unique_ptr<TSK_FS_DIR, DirCloser>;

// "<operation>: <tsk_error_get() text>" for the last TSK call that failed on this thread (TSK
// keeps its error per thread), then clears it. Control characters are replaced so the text is
// safe in every report.
[[nodiscard]] std::string tsk_error_text(std::string_view operation);

// Opens `path` as a disk image of the type TSK detects (raw/dd and split raw, E01, VHD, VMDK), or
// of `type` when it is known (a worker reopening an image the listing already opened).
[[nodiscard]] ImgPtr open_image(const std::string& path, TSK_IMG_TYPE_ENUM type = TSK_IMG_TYPE_DETECT);

// Where a callback image's bytes come from. read() returns the bytes read (fewer only at the end
// of the content), or -1 after setting TSK's error (tsk_error_set_errno/errstr).
class ImageReader {
 public:
  virtual ~ImageReader() = default;
  virtual ssize_t read(std::uint64_t offset, char* out, std::size_t length) = 0;
};

// A TSK image of `size` bytes whose content `reader` supplies (tsk_img_open_external): bytes in
// memory (the fuzz target), or a real image seen as larger than it is, so that TSK lists the
// partitions of a truncated image instead of refusing its whole partition table.
[[nodiscard]] ImgPtr open_callback_image(std::unique_ptr<ImageReader> reader, std::uint64_t size,
                                         unsigned sector_size = 512);

}  // namespace flscan::scanner::image
