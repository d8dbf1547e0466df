// Fuzz target: a disk image in memory, opened as a raw image through a callback image
// (scanner/image/tsk_handle.h: open_callback_image), then what a scan does with it: the volumes
// (partition tables, bare filesystems, encryption signatures; image_layout.h), each volume's
// directory walk with its caps (volume_walk.h), and every listed file opened by metadata address
// and read through FileReader, as the scan reads it (tsk_file.h).
//
// libtsk is not instrumented (a Debian library): memory errors inside it show only when they
// fault; what flscan does with what TSK returns is checked by ASan and UBSan.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include "fuzz/fuzz_check.h"
#include "scanner/walk/file_reader.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/limits.h"
#include "scanner/image/tsk_file.h"
#include "scanner/image/tsk_handle.h"
#include "scanner/image/volume_walk.h"

namespace {

namespace image = flscan::scanner::image;
using flscan::scanner::FileReader;
using flscan::scanner::NotScannedReason;
using flscan::scanner::ReadPlan;
using flscan::scanner::VolumeStatus;

// Files read per input: the walk's own caps are far larger; this keeps one input fast.
constexpr std::size_t kFilesReadPerInput = 64;
constexpr std::uint64_t kMaxFileBytes = 1u << 20;
const std::string kName = "fuzz.img";

class MemoryReader final : public image::ImageReader {
 public:
  MemoryReader(const std::uint8_t* data, std::size_t size) : data_(data, data + size) {}
  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset >= data_.size()) {
      tsk_error_reset();
      tsk_error_set_errno(TSK_ERR_IMG_READ_OFF);
      tsk_error_set_errstr("offset %llu is past the end of the input", static_cast<unsigned long long>(offset));
      return -1;
    }
    const std::size_t n = std::min<std::size_t>(length, data_.size() - static_cast<std::size_t>(offset));
    std::memcpy(out, data_.data() + offset, n);
    return static_cast<ssize_t>(n);
  }

 private:
  std::vector<std::uint8_t> data_;
};

void check_listing(const image::VolumeListing& listing, const std::string& volume_path) {
  FUZZ_CHECK(listing.files.size() <= image::limits::kMaxFilesPerVolume, "files per volume are capped");
  for (const image::ListedFile& file : listing.files) {
    FUZZ_CHECK(!file.path.empty() && file.path.front() != '/', "a listed path is relative to the volume");
    FUZZ_CHECK(file.path.size() <= image::limits::kMaxPathBytes, "paths are capped");
  }
  for (const auto& entry : listing.not_scanned) {
    FUZZ_CHECK(entry.path.starts_with(volume_path), "a walk error names a path in its volume");
    FUZZ_CHECK(!entry.detail.empty(), "a walk error says why");
  }
}

// A volume name of image_layout.h and lvm_volumes.h, in order: "vol"; "pN" with N one more than
// the last partition's; "lvN" (a bare PV) or "pM.lvN" (a PV in partition M) with N one more than
// the last LV's.
std::optional<std::size_t> ordinal(const std::string& digits) {
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoul(digits);
}

bool volume_name_in_order(const std::string& name, std::size_t& partition, std::size_t& lv) {
  if (name == "vol") return partition == 0 && lv == 0;
  std::string rest = name;
  if (rest.starts_with("p")) {
    const std::size_t dot = rest.find('.');
    const auto n = ordinal(rest.substr(1, dot == std::string::npos ? std::string::npos : dot - 1));
    if (!n) return false;
    if (*n == partition + 1) {
      partition = *n;
      lv = 0;
    } else if (*n != partition || dot == std::string::npos || lv == 0) {
      return false;
    }
    if (dot == std::string::npos) return true;
    rest = rest.substr(dot + 1);
  } else if (partition != 0) {
    return false;
  }
  const auto n = rest.starts_with("lv") ? ordinal(rest.substr(2)) : std::nullopt;
  return n && *n == ++lv;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  image::ImgPtr img = image::open_callback_image(std::make_unique<MemoryReader>(data, size), size);
  if (!img) return 0;  // an empty input
  const image::ImageLayout layout = image::layout_of(img.get(), kName);
  FUZZ_CHECK(!layout.volumes.empty(), "an image has at least one volume entry");
  FileReader reader(kMaxFileBytes);
  std::size_t files_read = 0;
  std::size_t partition = 0;  // the last partition named
  std::size_t lv = 0;         // the last logical volume named in it
  for (std::size_t v = 0; v < layout.volumes.size(); ++v) {
    const image::VolumeLayout& volume = layout.volumes[v];
    FUZZ_CHECK(volume_name_in_order(volume.report.name, partition, lv),
               "volumes are vol, p1, p2, ... or lv1, lv2, ... (p1.lv1, ... in a partition), in order");
    if (volume.report.status == VolumeStatus::error)
      FUZZ_CHECK(!volume.report.detail.empty(), "a volume error says why");
    if (volume.report.status != VolumeStatus::scanned) continue;
    auto opened = image::open_volume_filesystem(img.get(), volume);
    tsk_error_reset();
    if (!opened) continue;
    TSK_FS_INFO* fs = opened->fs.get();
    const std::string volume_path = volume.report.path();
    const image::VolumeListing listing = image::list_volume(fs, volume_path, image::WalkOptions{});
    check_listing(listing, volume_path);
    for (const image::ListedFile& listed : listing.files) {
      if (files_read++ == kFilesReadPerInput) break;
      auto file = image::TskFile::open(fs, listed.inum);
      if (!file) {
        FUZZ_CHECK(!file.error().detail.empty(), "a file that cannot be opened says why");
        continue;
      }
      auto content = reader.read(
          **file, [](flscan::ByteView, std::uint64_t) { return ReadPlan::whole; }, nullptr);
      if (content) {
        FUZZ_CHECK(content->whole && content->bytes.size() == content->file_size, "a whole read holds the whole file");
      } else {
        FUZZ_CHECK(!content.error().detail.empty(), "a failed read says why");
      }
    }
  }
  return 0;
}
