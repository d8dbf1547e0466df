#include "scanner/image/image_listing.h"

#include <algorithm>
#include <utility>

#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {
namespace {

// The image's TSK handle, opened on first use and kept for its other volumes; once opening it
// failed, every later volume gets the same error without another attempt.
class LazyImage {
 public:
  explicit LazyImage(const ImageLayout& layout) : layout_(layout) {}

  // The volume's filesystem (fs null with `error` set to the reason when it cannot be opened).
  OpenedVolume open_filesystem(const VolumeLayout& volume, std::string& error) {
    if (!img_ && error_.empty()) {
      img_ = open_source(layout_.source);
      if (!img_) error_ = tsk_error_text("open image");
    }
    OpenedVolume opened;
    error = error_;
    if (img_) {
      auto result = open_volume_filesystem(img_.get(), volume);
      if (result) {
        opened = std::move(*result);
      } else {
        error = std::move(result.error());
      }
    }
    return opened;
  }

 private:
  const ImageLayout& layout_;
  ImgPtr img_;
  std::string error_;
};

}  // namespace

std::vector<ImageItem> list_images(const std::vector<ImageLayout>& images, const ExcludeMatcher& excludes,
                                   std::optional<Shard> shard, ListingSink& sink, std::vector<ImageVolume>& volumes) {
  std::vector<ImageItem> items;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const ImageLayout& layout = images[i];
    LazyImage image(layout);
    for (std::size_t v = 0; v < layout.volumes.size(); ++v) {
      const VolumeLayout& volume = layout.volumes[v];
      volumes.push_back(volume.report);
      const std::string volume_path = volume.report.path();
      if (volume.report.status == VolumeStatus::error) {
        sink.volume_not_scanned(volume_path, volume.report.reason, volume.report.detail);
        continue;
      }
      if (volume.report.status != VolumeStatus::scanned) continue;
      std::string error;
      OpenedVolume opened = image.open_filesystem(volume, error);
      if (!opened.fs) {
        sink.volume_not_scanned(volume_path, NotScannedReason::unreadable_image, error);
        volumes.back().status = VolumeStatus::error;
        volumes.back().detail = error;
        continue;
      }
      // The key of a file of an image operand is `pN/path`; of an image met during a walk,
      // `KEY:pN/path` with KEY the image file's own walk key (shard.h), so it splits the same way.
      const std::string name =
          (layout.source.held ? layout.source.held->shard_key + ":" : std::string()) + volume.report.name;
      WalkOptions options;
      options.excludes = &excludes;
      if (shard) {
        options.owns = [&name, shard](std::string_view path) {
          return in_shard(path.empty() ? name : name + "/" + std::string(path), *shard);
        };
      }
      VolumeListing listing = list_volume(opened.fs.get(), volume_path, options);
      sink.add_listing(listing);
      for (ListedFile& file : listing.files) {
        items.push_back(ImageItem{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(v), file.inum,
                                  volume_path + "/" + file.path, file.data_start});
      }
    }
  }
  // Each image front to back by where each file's data starts (issue 19): on a disk whose seeks
  // cost milliseconds the order of the reads decides the time. Stable, so files without a known
  // start keep the listing's order, after the others.
  std::stable_sort(items.begin(), items.end(), [](const ImageItem& a, const ImageItem& b) {
    return a.image != b.image ? a.image < b.image : a.data_start < b.data_start;
  });
  return items;
}

}  // namespace flscan::scanner::image
