// The volumes of scanned disk images as a host::VolumeFs, so the Q317218 host report (Windows
// installation lookup, SYSTEM hive, SysEvent.Evt, NTLDR) reads evidence inside an image exactly as
// it does on a mounted volume, without mounting or extracting anything: directories are listed and
// files copied into private memory files (FileSnapshot::from_reader) through The Sleuth Kit.
//
// Paths are the report's: `IMAGE:pN` is a volume's root, `IMAGE:pN/WINNT/system32` a directory in
// it. Names are matched exactly as the filesystem stores them (the host lookups do their own case
// folding on the listed names). The same entries as the file scan are visible: allocated names only,
// no TSK virtual entry, no NTFS system file (volume_walk.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tsk/libtsk.h>

#include "scanner/host/volume_fs.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/tsk_handle.h"
#include "scanner/report/report.h"

namespace flscan::scanner::image {

class TskVolumeFs final : public host::VolumeFs {
 public:
  // Opens (on the calling thread, its own handles) every volume of `images` that `volumes` (the
  // report's, after the scan) gives status scanned.
  TskVolumeFs(const std::vector<ImageLayout>& images, const std::vector<ImageVolume>& volumes);
  ~TskVolumeFs() override;

  // The roots (`IMAGE:pN`) of the volumes that could be opened, in the order given.
  [[nodiscard]] const std::vector<std::string>& roots() const { return roots_; }

  // The scanned volumes that could not be opened again here (the image or the filesystem; TSK's
  // reason), in the order given: their host evidence was not read.
  struct Failure {
    std::string root;
    std::string reason;
  };
  [[nodiscard]] const std::vector<Failure>& failures() const { return failures_; }

  [[nodiscard]] tl::expected<host::DirectoryNames, host::HostError> list(const std::string& dir,
                                                                         std::size_t max_entries) const override;
  [[nodiscard]] host::EntryKind kind(const std::string& path) const override;
  [[nodiscard]] tl::expected<host::FileSnapshot, host::HostError> snapshot(const std::string& path,
                                                                           std::uint64_t max_bytes) const override;

 private:
  struct Volume {
    std::string root;
    OpenedVolume opened;
  };
  struct Resolved {
    const Volume* volume = nullptr;
    TSK_INUM_T inum = 0;
    host::EntryKind kind = host::EntryKind::missing;
  };
  // The entry `path` names, found by listing each directory from the volume root.
  [[nodiscard]] Resolved resolve(const std::string& path) const;

  std::vector<ImgPtr> images_;  // one per image file; the filesystems below read through them
  std::vector<Volume> volumes_;
  std::vector<std::string> roots_;
  std::vector<Failure> failures_;
};

// Sets ImageVolume::host_error for each volume `fs` could not open, so the report says that its
// host evidence was not read (ScanReport::host_errors(): exit code 2 under --fail-on incomplete).
void note_host_failures(const TskVolumeFs& fs, std::vector<ImageVolume>& volumes);

}  // namespace flscan::scanner::image
