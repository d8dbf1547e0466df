#include "scanner/image/image_source.h"

namespace flscan::scanner::image {

ImgPtr open_source(const ImageSource& source) { return open_image(source.path, source.tsk_type); }

}  // namespace flscan::scanner::image
