#include "scanner/image/volume_layer.h"

#include <utility>

namespace flscan::scanner::image {
namespace {

// Reads the inner layer's image, keeping the outer one it reads through open. `inner_` is declared
// last, so it is closed first.
class StackedReader final : public ImageReader {
 public:
  StackedReader(ImgPtr outer, ImgPtr inner) : outer_(std::move(outer)), inner_(std::move(inner)) {}
  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    return tsk_img_read(inner_.get(), static_cast<TSK_OFF_T>(offset), out, length);
  }

 private:
  ImgPtr outer_;
  ImgPtr inner_;
};

class StackedLayer final : public VolumeLayer {
 public:
  StackedLayer(std::shared_ptr<const VolumeLayer> outer, std::shared_ptr<const VolumeLayer> inner)
      : outer_(std::move(outer)), inner_(std::move(inner)) {}
  [[nodiscard]] tl::expected<ImgPtr, std::string> open(TSK_IMG_INFO* container) const override {
    auto outer = outer_->open(container);
    if (!outer) return tl::make_unexpected(std::move(outer.error()));
    auto inner = inner_->open(outer->get());
    if (!inner) return tl::make_unexpected(std::move(inner.error()));
    const auto size = static_cast<std::uint64_t>((*inner)->size);
    const unsigned sector_size = (*inner)->sector_size;
    ImgPtr img =
        open_callback_image(std::make_unique<StackedReader>(std::move(*outer), std::move(*inner)), size, sector_size);
    if (!img) return tl::make_unexpected(tsk_error_text("open a volume inside a volume"));
    return img;
  }

 private:
  std::shared_ptr<const VolumeLayer> outer_;
  std::shared_ptr<const VolumeLayer> inner_;
};

}  // namespace

std::shared_ptr<const VolumeLayer> stack_layers(std::shared_ptr<const VolumeLayer> outer,
                                                std::shared_ptr<const VolumeLayer> inner) {
  return std::make_shared<StackedLayer>(std::move(outer), std::move(inner));
}

}  // namespace flscan::scanner::image
