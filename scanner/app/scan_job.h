// One scan: the walk over the PATH operands, and for every regular file the walk finds, a read
// (FileReader) and a scan (engine FileScanner) on the current thread's own worker state, kept in
// a tbb::enumerable_thread_specific so no lock is taken per file. The workers' partial reports
// are merged and sorted by path at the end, so the output does not depend on thread timing.
//
// A PATH that is a disk image (scanner/image/image_layout.h) is not walked: each of its volumes
// is listed through The Sleuth Kit (image/volume_walk.h, one thread), then its files are scanned
// in parallel by the same workers, each reading through its own TSK handles (image/tsk_file.h),
// and reported as `IMAGE:pN/path/in/volume` (`IMAGE:vol/...` without a partition table). A disk
// image the walk meets in a directory is opened by descriptor on the walk's thread
// (image/nested_image.h) and, once the walk is done, scanned the same way (`DIR/snap.vhd:p1/...`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/filesystem/path.hpp>

#include "engine/sig/signature_set.h"
#include "scanner/app/progress.h"
#include "scanner/image/image_layout.h"
#include "scanner/report/report.h"
#include "scanner/walk/walker.h"

namespace flscan::scanner {

struct ScanSettings {
  std::vector<std::string> roots;  // PATH operands as given
  WalkSettings walk;
  std::uint64_t max_file_size = limits::kDefaultMaxFileSize;
  // Files larger than this are scanned as a stream of chunks rather than read whole (when the
  // role and the signature set allow it: FileScanner::can_stream).
  std::uint64_t stream_above = limits::kDefaultStreamAbove;
  bool inventory = false;      // record every PE/MZ file scanned (path, size, sha256)
  bool list_excluded = false;  // keep one entry per excluded path (--verbose), not only a count
  // --image: every PATH that is a regular file (or block device) is opened as a disk image, without
  // the content test (scanner/image/image_layout.h).
  bool force_image = false;
  // A disk image met during the walk is opened and scanned like a PATH (image/nested_image.h);
  // false (--no-nested-images): NOT SCANNED image-not-opened.
  bool nested_images = true;
};

// Test hooks, called on the worker thread handling the file; the program never sets them.
struct ScanHooks {
  // After the walk listed a regular file and before it is opened (tests delete or swap it here).
  std::function<void(const boost::filesystem::path&)> before_open;
  // After the sniff read and before the rest of the file is read (tests truncate or grow it).
  std::function<void(const boost::filesystem::path&)> after_sniff;
  // After the walk listed a directory's parent and before the directory is opened (tests swap it
  // for a symlink or mount a filesystem on it here).
  std::function<void(const boost::filesystem::path&)> before_open_directory;
};

class ScanJob {
 public:
  // `signatures` must outlive run(); it is shared read-only by every worker.
  ScanJob(const sig::SignatureSet& signatures, ScanSettings settings);

  // Runs the whole scan on the calling thread's TBB arena (the caller limits its threads with
  // tbb::global_control). Every per-file problem ends up in the report; nothing is thrown for them.
  [[nodiscard]] ScanReport run() const;
  // The same, and the disk images it scanned (for reading their host evidence afterwards,
  // image::TskVolumeFs).
  [[nodiscard]] ScanReport run(std::vector<image::ImageLayout>& images) const;

  ScanHooks hooks;
  // Counts each file done, for the progress line; optional.
  ProgressMeter* progress = nullptr;

 private:
  const sig::SignatureSet& signatures_;
  ScanSettings settings_;
};

}  // namespace flscan::scanner
