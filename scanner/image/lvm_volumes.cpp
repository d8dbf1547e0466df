#include "scanner/image/lvm_volumes.h"

#include <algorithm>
#include <array>
#include <memory>

#include "engine/byte_view.h"
#include "scanner/image/limits.h"
#include "scanner/image/lvm_metadata.h"
#include "scanner/image/tsk_handle.h"
#include "scanner/image/volume_layer.h"

namespace flscan::scanner::image {
namespace {

// A logical volume's extents, as byte ranges of its PV, which starts at `pv_offset` in the image.
struct LvMap {
  std::uint64_t pv_offset = 0;
  std::uint64_t size = 0;
  std::vector<lvm::Segment> segments;
};

void set_tsk_error(const char* what, std::uint64_t offset) {
  tsk_error_reset();
  tsk_error_set_errno(TSK_ERR_IMG_READ);
  tsk_error_set_errstr("LVM2 logical volume: %s at byte %llu", what, static_cast<unsigned long long>(offset));
}

// Reads a logical volume: each read is split where the extents stop being contiguous on the PV.
class LvReader final : public ImageReader {
 public:
  LvReader(TSK_IMG_INFO* container, std::shared_ptr<const LvMap> map) : container_(container), map_(std::move(map)) {}

  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset >= map_->size) return 0;
    length = static_cast<std::size_t>(std::min<std::uint64_t>(length, map_->size - offset));
    std::size_t done = 0;
    while (done < length) {
      const std::uint64_t at = offset + done;
      // The last segment starting at or before `at` (segments are contiguous from 0).
      const auto next = std::upper_bound(map_->segments.begin(), map_->segments.end(), at,
                                         [](std::uint64_t o, const lvm::Segment& s) { return o < s.lv_offset; });
      const lvm::Segment& segment = *std::prev(next);
      const lvm::Mapped mapped = lvm::map_offset(segment, at);
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, mapped.contiguous));
      const ssize_t got =
          tsk_img_read(container_, static_cast<TSK_OFF_T>(map_->pv_offset + mapped.pv_offset), out + done, n);
      if (got < 0) return -1;  // TSK's error is set
      if (got == 0) {
        set_tsk_error("the physical volume ends before the extent", at);
        return -1;
      }
      done += static_cast<std::size_t>(got);
    }
    return static_cast<ssize_t>(done);
  }

 private:
  TSK_IMG_INFO* container_;
  std::shared_ptr<const LvMap> map_;
};

class LvLayer final : public VolumeLayer {
 public:
  explicit LvLayer(std::shared_ptr<const LvMap> map) : map_(std::move(map)) {}
  [[nodiscard]] tl::expected<ImgPtr, std::string> open(TSK_IMG_INFO* container) const override {
    ImgPtr img = open_callback_image(std::make_unique<LvReader>(container, map_), map_->size);
    if (!img) return tl::make_unexpected(tsk_error_text("open LVM2 logical volume"));
    return img;
  }

 private:
  std::shared_ptr<const LvMap> map_;
};

VolumeLayout error_volume(ImageVolume base, NotScannedReason reason, std::string detail) {
  VolumeLayout volume{std::move(base), TSK_FS_TYPE_DETECT, nullptr};
  volume.report.status = VolumeStatus::error;
  volume.report.reason = reason;
  volume.report.detail = std::move(detail);
  return volume;
}

VolumeLayout skipped_volume(ImageVolume base, std::string detail) {
  VolumeLayout volume{std::move(base), TSK_FS_TYPE_DETECT, nullptr};
  volume.report.status = VolumeStatus::skipped;
  volume.report.detail = std::move(detail);
  return volume;
}

// Linux swap space (util-linux's swapheader.h, version 1): "SWAPSPACE2" in the last 10 bytes of
// the first 4 KiB page, version 1 and a last page inside the volume at 1024, and no partition
// table in the first sector. A swap LV holds no files, so it is skipped; anything less is only a
// string anyone can write, and an LV that merely carries it is not skipped (it could hold a whole
// disk of a virtual machine).
bool swap_space(TSK_IMG_INFO* lv) {
  constexpr std::uint64_t kPage = 4096;
  std::array<std::uint8_t, kPage> page{};
  if (static_cast<std::uint64_t>(lv->size) < kPage) return false;
  tsk_error_reset();
  const bool read =
      tsk_img_read(lv, 0, reinterpret_cast<char*>(page.data()), page.size()) == static_cast<ssize_t>(page.size());
  tsk_error_reset();
  if (!read) return false;
  const ByteView bytes(page.data(), page.size());
  const std::uint64_t pages = static_cast<std::uint64_t>(lv->size) / kPage;
  const std::uint32_t last_page = bytes.u32le(1028).value_or(0);
  const bool partition_table = bytes.u16le(510) == 0xAA55;
  return bytes.equals_at(kPage - 10, "SWAPSPACE2") && bytes.u32le(1024) == 1u && last_page >= 1 && last_page < pages &&
         !partition_table;
}

constexpr std::string_view kHidden =
    "hidden LVM2 logical volume (a part of another one, such as a raid image or a "
    "thin pool's data)";

VolumeLayout logical_volume(TSK_IMG_INFO* img, const ImageVolume& pv, const std::string& vg,
                            const lvm::LogicalVolume& lv, std::size_t ordinal, const VolumeProbe& probe) {
  ImageVolume base = pv;
  base.name = (pv.name == "vol" ? std::string() : pv.name + ".") + "lv" + std::to_string(ordinal);
  base.partition_type = "LVM2 logical volume " + vg + "/" + lv.name + (lv.hidden ? " (hidden)" : "");
  base.filesystem.clear();
  base.length = lv.size;
  if (lv.problem != lvm::LvProblem::none) {
    return error_volume(std::move(base),
                        lv.problem == lvm::LvProblem::unsupported ? NotScannedReason::unsupported_image
                                                                  : NotScannedReason::unreadable_image,
                        lv.detail);
  }
  auto map = std::make_shared<LvMap>();
  map->pv_offset = pv.offset;
  map->size = lv.size;
  map->segments = lv.segments;
  auto layer = std::make_shared<LvLayer>(map);
  auto opened = layer->open(img);
  const std::uint64_t start = pv.offset + lv.segments.front().stripes.front();
  if (!opened) {
    base.offset = start;
    return error_volume(std::move(base), NotScannedReason::unreadable_image, opened.error());
  }
  // Probed without the names from the metadata, which must decide nothing (a partition type that
  // names "swap" or "reserved" makes a partition without filesystem skipped).
  ImageVolume probed = base;
  probed.offset = 0;
  probed.partition_type = "LVM2 logical volume";
  VolumeLayout volume = probe(opened->get(), std::move(probed));
  volume.report.offset = start;
  volume.report.partition_type = base.partition_type;
  // An encrypted volume in the LV (LUKS, BitLocker) came back with its decryption, which reads
  // the LV's image: stacked on the LV's own mapping, not replaced by it.
  volume.layer = volume.layer ? stack_layers(std::move(layer), std::move(volume.layer)) : std::move(layer);
  if (volume.report.status == VolumeStatus::error && volume.report.reason == NotScannedReason::unknown_filesystem) {
    // Not skipped for a hidden LV or a partition type: both are metadata anyone can write.
    if (swap_space(opened->get())) {
      volume.report.status = VolumeStatus::skipped;
      volume.report.detail = "Linux swap space (a version 1 swap header, \"SWAPSPACE2\"): holds no files";
      volume.layer = nullptr;
    } else if (lv.hidden) {
      volume.report.detail += " (" + std::string(kHidden) + ")";
    }
  }
  return volume;
}

}  // namespace

bool lvm_partition_type(std::string_view partition_type) {
  return partition_type.find("(0x8e)") != std::string_view::npos ||
         partition_type.find("E6D6D379-F507-44C2-A23C-238F2A3DF928") != std::string_view::npos;
}

bool has_lvm_label(TSK_IMG_INFO* img, std::uint64_t offset) {
  std::array<std::uint8_t, lvm::kLabelSectors * lvm::kSectorBytes> head{};
  tsk_error_reset();
  const ssize_t got =
      tsk_img_read(img, static_cast<TSK_OFF_T>(offset), reinterpret_cast<char*>(head.data()), head.size());
  tsk_error_reset();
  return got > 0 && lvm::has_label(std::span<const std::uint8_t>(head.data(), static_cast<std::size_t>(got)));
}

std::vector<VolumeLayout> lvm_volumes(TSK_IMG_INFO* img, const ImageVolume& pv, const VolumeProbe& probe,
                                      std::size_t& budget) {
  const auto image_size = static_cast<std::uint64_t>(img->size);
  const std::uint64_t pv_bytes = pv.offset < image_size ? std::min(pv.length, image_size - pv.offset) : 0;
  const lvm::PvReader read = [&](std::uint64_t offset, std::span<std::uint8_t> out) {
    if (offset > pv_bytes || out.size() > pv_bytes - offset) return false;
    tsk_error_reset();
    const ssize_t got =
        tsk_img_read(img, static_cast<TSK_OFF_T>(pv.offset + offset), reinterpret_cast<char*>(out.data()), out.size());
    tsk_error_reset();
    return got == static_cast<ssize_t>(out.size());
  };
  ImageVolume whole = pv;
  if (whole.partition_type.empty()) whole.partition_type = "LVM2 physical volume";
  auto header = lvm::read_physical_volume(read);
  if (!header) {
    return {
        error_volume(std::move(whole), NotScannedReason::unreadable_image, "LVM2 physical volume: " + header.error())};
  }
  auto group = lvm::parse_volume_group(header->text, header->id, pv_bytes);
  if (!group) {
    return {
        error_volume(std::move(whole), NotScannedReason::unreadable_image, "LVM2 physical volume: " + group.error())};
  }
  if (group->lvs.empty()) {
    return {skipped_volume(std::move(whole),
                           "LVM2 physical volume of volume group " + group->name + ", which holds no logical volume")};
  }
  std::vector<VolumeLayout> volumes;
  const std::size_t listed = std::min(group->lvs.size(), budget);
  budget -= listed;
  for (std::size_t i = 0; i < listed; ++i)
    volumes.push_back(logical_volume(img, pv, group->name, group->lvs[i], i + 1, probe));
  if (group->more_lvs || listed < group->lvs.size()) {
    ImageVolume rest = pv;
    rest.name = (pv.name == "vol" ? std::string() : pv.name + ".") + "lv" + std::to_string(listed + 1);
    rest.partition_type = "LVM2 logical volumes of " + group->name;
    rest.length = 0;
    volumes.push_back(error_volume(std::move(rest), NotScannedReason::unreadable_image,
                                   "more than " + std::to_string(limits::kMaxLvmLogicalVolumes) +
                                       " logical volumes in the volume group or in the image; the rest are not "
                                       "examined"));
  }
  return volumes;
}

}  // namespace flscan::scanner::image
