#include "scanner/image/image_source.h"

#include <unistd.h>

namespace flscan::scanner::image {

HeldImage::~HeldImage() {
  if (alias.empty()) return;
  ::unlink(alias.c_str());
  ::rmdir(alias.substr(0, alias.rfind('/')).c_str());
}

ImgPtr open_source(const ImageSource& source) { return open_image(source.path, source.tsk_type); }

}  // namespace flscan::scanner::image
