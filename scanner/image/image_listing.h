// The files to scan inside the disk images among the PATH operands: every volume of every image
// listed on one thread, with its own TSK handles (volume_walk.h), before the files are scanned in
// parallel by the scan job (scanner/app/scan_job.cpp), each opened by its metadata address.
//
// A volume the layout already marked as an error, or one TSK cannot open now, is reported NOT
// SCANNED through the sink and recorded with its error; the others are listed with --exclude and
// --shard applied (an entry's shard key is its path relative to the image, `pN/path/in/volume`;
// for an image met during a walk, the image file's walk key, ':', then that: nested_image.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <tsk/libtsk.h>

#include "scanner/image/image_layout.h"
#include "scanner/image/volume_walk.h"
#include "scanner/report/report.h"
#include "scanner/report/shard.h"
#include "scanner/walk/walker.h"

namespace flscan::scanner::image {

// A file listed inside a disk image, waiting for a worker.
struct ImageItem {
  std::uint32_t image = 0;   // index into the scan's image layouts
  std::uint32_t volume = 0;  // index into that layout's volumes
  TSK_INUM_T inum = 0;
  std::string path;                              // the report path, `IMAGE:pN/path/in/volume`
  std::uint64_t data_start = kUnknownDataStart;  // ListedFile::data_start
};

// Where the listing reports what is not a file to scan.
class ListingSink {
 public:
  virtual ~ListingSink() = default;
  // A volume that cannot be listed (its report path, `IMAGE:pN`).
  virtual void volume_not_scanned(const std::string& volume_path, NotScannedReason reason, std::string detail) = 0;
  // What the listing of one volume found besides files (NOT SCANNED and skipped entries, counts).
  virtual void add_listing(VolumeListing& listing) = 0;
};

// Lists every volume of every image in `images`; appends each volume's report to `volumes` and
// returns the files to scan, each image's in the order of their data on disk (ImageItem::data_start;
// files without a known start last, in listing order).
[[nodiscard]] std::vector<ImageItem> list_images(const std::vector<ImageLayout>& images, const ExcludeMatcher& excludes,
                                                 std::optional<Shard> shard, ListingSink& sink,
                                                 std::vector<ImageVolume>& volumes);

}  // namespace flscan::scanner::image
