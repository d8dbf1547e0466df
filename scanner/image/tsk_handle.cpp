#include "scanner/image/tsk_handle.h"

#include <type_traits>

namespace flscan::scanner::image {

std::string tsk_error_text(std::string_view operation) {
  const char* text = tsk_error_get();
  std::string message(operation);
  message += ": ";
  message += (text != nullptr && *text != '\0') ? text : "The Sleuth Kit gave no reason";
  tsk_error_reset();
  // TSK's text is built from on-disk names and values: keep it to one printable line.
  for (char& c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

ImgPtr open_image(const std::string& path, TSK_IMG_TYPE_ENUM type) {
  tsk_error_reset();
  return ImgPtr(tsk_img_open_utf8_sing(path.c_str(), type, 0));
}

namespace {

// tsk_img_open_external wants a structure that starts with TSK_IMG_INFO (it holds the 2 MiB read
// cache inline, hence the heap) and frees it in the close callback.
struct CallbackImage {
  TSK_IMG_INFO info;
  ImageReader* reader;
};
static_assert(std::is_standard_layout_v<CallbackImage>);

ssize_t callback_read(TSK_IMG_INFO* img, TSK_OFF_T offset, char* out, std::size_t length) {
  if (offset < 0) return -1;
  return reinterpret_cast<CallbackImage*>(img)->reader->read(static_cast<std::uint64_t>(offset), out, length);
}

void callback_close(TSK_IMG_INFO* img) {
  auto* image = reinterpret_cast<CallbackImage*>(img);
  delete image->reader;
  delete image;
}

void callback_imgstat(TSK_IMG_INFO*, FILE*) {}

}  // namespace

ImgPtr open_callback_image(std::unique_ptr<ImageReader> reader, std::uint64_t size, unsigned sector_size) {
  auto image = std::make_unique<CallbackImage>();  // value-initialised: every field zero
  image->info.tag = TSK_IMG_INFO_TAG;
  image->reader = reader.get();
  tsk_error_reset();
  TSK_IMG_INFO* opened = tsk_img_open_external(&image->info, static_cast<TSK_OFF_T>(size), sector_size, callback_read,
                                               callback_close, callback_imgstat);
  if (opened == nullptr) return nullptr;
  reader.release();  // owned by the image from here; callback_close frees both
  image.release();
  return ImgPtr(opened);
}

}  // namespace flscan::scanner::image
