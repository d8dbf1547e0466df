#include "scanner/image/image_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include "scanner/image/image_files.h"
#include "scanner/image/libyal_formats.h"
#include "scanner/image/tsk_runtime.h"

namespace flscan::scanner::image {
namespace {

// The segments of a split raw set, each after the first checked again (regular file, not a symlink) before The
// Sleuth Kit opens them by name.
ImgPtr open_split_raw(const std::vector<std::string>& segments) {
  std::vector<const char*> names;
  for (const std::string& segment : segments) {
    // The first segment is the image as named (a PATH, or a walk's alias of the held file: a
    // link by design), opened as any PATH is; the others are files it names.
    if (names.empty()) {
      names.push_back(segment.c_str());
      continue;
    }
    struct stat st {};
    auto fd = open_named_file(segment, st);
    if (!fd) {
      if (tsk_unavailable() == nullptr) {
        tsk_error_reset();
        tsk_error_set_errno(TSK_ERR_IMG_OPEN);
        tsk_error_set_errstr("%s: %s", segment.c_str(), fd.error().detail.c_str());
      }
      return nullptr;
    }
    names.push_back(segment.c_str());
  }
  tsk_error_reset();
  return ImgPtr(tsk_img_open_utf8(static_cast<int>(names.size()), names.data(), TSK_IMG_TYPE_RAW, 0));
}

}  // namespace

// The link and its directory go with `link`, after this.
HeldImage::~HeldImage() {
  if (link && sibling_directory.valid()) clear_sibling_directory(link->directory());
}

ImgPtr open_source(const ImageSource& source) {
  switch (source.opener) {
    case ImageOpener::tsk:
      break;
    case ImageOpener::split_raw:
      return open_split_raw(source.files);
    case ImageOpener::qcow:
      return open_qcow_chain(qcow_api(), source.files, false);
    case ImageOpener::qcow_over_raw:
      return open_qcow_chain(qcow_api(), source.files, true);
    case ImageOpener::vhdi:
      return open_libyal_chain(vhdi_api(), source.files);
    case ImageOpener::vhd:
      return open_vhd_chain(vhdi_api(), source.files, source.vhd);
  }
  return open_image(source.path, source.tsk_type);
}

}  // namespace flscan::scanner::image
