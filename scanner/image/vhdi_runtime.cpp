// libvhdi (Debian libvhdi1), loaded at run time (dynamic_library.h), never linked. Version
// 20210425 reads VHD (fixed, dynamic, differencing) and VHDX (fixed, dynamic, differencing):
// libvhdi_file_get_file_type tells them apart; the parent's name comes from a differencing VHD's
// dynamic header or a VHDX's parent locator. A VHD's blocks are read by flscan, not through
// libvhdi (libyal_chain.h, open_vhd_chain: issue 19).
#include <libvhdi.h>

#include <type_traits>

#include "scanner/image/dynamic_library.h"
#include "scanner/image/libyal_formats.h"

#ifndef FLSCAN_VHDI_SONAME
#error "FLSCAN_VHDI_SONAME (libvhdi's SONAME) must be defined by the build"
#endif

namespace flscan::scanner::image {
namespace {

// Each function's type in libvhdi.h is the table's.
#define FLSCAN_SAME_TYPE(field, function) \
  static_assert(std::is_same_v<decltype(LibyalApi::field), decltype(&function)>, #function)
FLSCAN_SAME_TYPE(file_initialize, libvhdi_file_initialize);
FLSCAN_SAME_TYPE(file_free, libvhdi_file_free);
FLSCAN_SAME_TYPE(file_open, libvhdi_file_open);
FLSCAN_SAME_TYPE(file_close, libvhdi_file_close);
FLSCAN_SAME_TYPE(read_buffer_at_offset, libvhdi_file_read_buffer_at_offset);
FLSCAN_SAME_TYPE(set_parent_file, libvhdi_file_set_parent_file);
FLSCAN_SAME_TYPE(get_media_size, libvhdi_file_get_media_size);
FLSCAN_SAME_TYPE(get_parent_name_size, libvhdi_file_get_utf8_parent_filename_size);
FLSCAN_SAME_TYPE(get_parent_name, libvhdi_file_get_utf8_parent_filename);
FLSCAN_SAME_TYPE(get_bytes_per_sector, libvhdi_file_get_bytes_per_sector);
FLSCAN_SAME_TYPE(error_backtrace_sprint, libvhdi_error_backtrace_sprint);
FLSCAN_SAME_TYPE(error_free, libvhdi_error_free);
#undef FLSCAN_SAME_TYPE

}  // namespace

const LibyalApi& vhdi_api() {
  static const DynamicLibrary library(
      FLSCAN_VHDI_SONAME, "VHD (dynamic, differencing) and VHDX images",
      {"libvhdi_file_initialize", "libvhdi_file_free", "libvhdi_file_open", "libvhdi_file_close",
       "libvhdi_file_read_buffer_at_offset", "libvhdi_file_set_parent_file", "libvhdi_file_get_media_size",
       "libvhdi_file_get_utf8_parent_filename_size", "libvhdi_file_get_utf8_parent_filename",
       "libvhdi_file_get_bytes_per_sector", "libvhdi_error_backtrace_sprint", "libvhdi_error_free"});
  static const LibyalApi api = [] {
    LibyalApi table;
    table.format = "VHD/VHDX";
    table.parent_word = "parent";
    table.unavailable = library.unavailable();
    if (table.unavailable != nullptr) return table;
    table.read_flags = LIBVHDI_OPEN_READ;
    table.file_initialize = library.function<decltype(table.file_initialize)>("libvhdi_file_initialize");
    table.file_free = library.function<decltype(table.file_free)>("libvhdi_file_free");
    table.file_open = library.function<decltype(table.file_open)>("libvhdi_file_open");
    table.file_close = library.function<decltype(table.file_close)>("libvhdi_file_close");
    table.read_buffer_at_offset =
        library.function<decltype(table.read_buffer_at_offset)>("libvhdi_file_read_buffer_at_offset");
    table.set_parent_file = library.function<decltype(table.set_parent_file)>("libvhdi_file_set_parent_file");
    table.get_media_size = library.function<decltype(table.get_media_size)>("libvhdi_file_get_media_size");
    table.get_parent_name_size =
        library.function<decltype(table.get_parent_name_size)>("libvhdi_file_get_utf8_parent_filename_size");
    table.get_parent_name = library.function<decltype(table.get_parent_name)>("libvhdi_file_get_utf8_parent_filename");
    table.get_bytes_per_sector =
        library.function<decltype(table.get_bytes_per_sector)>("libvhdi_file_get_bytes_per_sector");
    table.error_backtrace_sprint =
        library.function<decltype(table.error_backtrace_sprint)>("libvhdi_error_backtrace_sprint");
    table.error_free = library.function<decltype(table.error_free)>("libvhdi_error_free");
    return table;
  }();
  return api;
}

}  // namespace flscan::scanner::image
