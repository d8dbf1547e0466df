#include "scanner/image/linked_libraries.h"

#include <cstring>
#include <iterator>

#include <libqcow.h>
#include <libvhdi.h>
#define LIBBDE_HAVE_BFIO
#include <libbde.h>
#include <libbfio.h>

#if !defined(FLSCAN_QCOW_SONAME) || !defined(FLSCAN_VHDI_SONAME) || !defined(FLSCAN_BDE_SONAME) || \
    !defined(FLSCAN_CRYPTSETUP_SONAME)
#error "the SONAMEs of the run-time libraries must be defined by the build (scanner/CMakeLists.txt)"
#endif

namespace flscan::scanner::image {
namespace {

// Each name is the function's own: a name missing here makes its library unavailable with that
// name (dynamic_library.cpp), which the portable binary's tests would show.
#define FLSCAN_LINKED(function) \
  LinkedFunction { #function, reinterpret_cast < void*>(&function) }

// qcow_runtime.cpp
const LinkedFunction kQcow[] = {
    FLSCAN_LINKED(libqcow_file_initialize),
    FLSCAN_LINKED(libqcow_file_free),
    FLSCAN_LINKED(libqcow_file_open),
    FLSCAN_LINKED(libqcow_file_close),
    FLSCAN_LINKED(libqcow_file_read_buffer_at_offset),
    FLSCAN_LINKED(libqcow_file_set_parent_file),
    FLSCAN_LINKED(libqcow_file_get_media_size),
    FLSCAN_LINKED(libqcow_file_get_utf8_backing_filename_size),
    FLSCAN_LINKED(libqcow_file_get_utf8_backing_filename),
    FLSCAN_LINKED(libqcow_error_backtrace_sprint),
    FLSCAN_LINKED(libqcow_error_free),
};

// vhdi_runtime.cpp
const LinkedFunction kVhdi[] = {
    FLSCAN_LINKED(libvhdi_file_initialize),
    FLSCAN_LINKED(libvhdi_file_free),
    FLSCAN_LINKED(libvhdi_file_open),
    FLSCAN_LINKED(libvhdi_file_close),
    FLSCAN_LINKED(libvhdi_file_read_buffer_at_offset),
    FLSCAN_LINKED(libvhdi_file_set_parent_file),
    FLSCAN_LINKED(libvhdi_file_get_media_size),
    FLSCAN_LINKED(libvhdi_file_get_utf8_parent_filename_size),
    FLSCAN_LINKED(libvhdi_file_get_utf8_parent_filename),
    FLSCAN_LINKED(libvhdi_file_get_bytes_per_sector),
    FLSCAN_LINKED(libvhdi_error_backtrace_sprint),
    FLSCAN_LINKED(libvhdi_error_free),
};

// bitlocker_volume.cpp: libbde and the libbfio it calls (the one libbfio.a, as libbde.so uses
// libbfio.so.1; packaging/portable/localize-libyal.sh).
const LinkedFunction kBde[] = {
    FLSCAN_LINKED(libbde_volume_initialize),
    FLSCAN_LINKED(libbde_volume_free),
    FLSCAN_LINKED(libbde_volume_open_file_io_handle),
    FLSCAN_LINKED(libbde_volume_close),
    FLSCAN_LINKED(libbde_volume_is_locked),
    FLSCAN_LINKED(libbde_volume_get_size),
    FLSCAN_LINKED(libbde_volume_get_encryption_method),
    FLSCAN_LINKED(libbde_volume_read_buffer_at_offset),
    FLSCAN_LINKED(libbde_volume_set_utf8_password),
    FLSCAN_LINKED(libbde_volume_set_utf8_recovery_password),
    FLSCAN_LINKED(libbde_volume_read_startup_key_file_io_handle),
    FLSCAN_LINKED(libbde_error_sprint),
    FLSCAN_LINKED(libbde_error_free),
    FLSCAN_LINKED(libbfio_handle_initialize),
    FLSCAN_LINKED(libbfio_handle_free),
    FLSCAN_LINKED(libbfio_error_free),
};

#undef FLSCAN_LINKED

const LinkedLibrary kLibraries[] = {
    {FLSCAN_QCOW_SONAME, nullptr, kQcow},
    {FLSCAN_VHDI_SONAME, nullptr, kVhdi},
    {FLSCAN_BDE_SONAME, nullptr, kBde},
    // README "Portable binary": measured on Debian 12.
    {FLSCAN_CRYPTSETUP_SONAME,
     "Debian ships libcryptsetup and the device-mapper library it needs (libdevmapper) only as shared "
     "libraries, and a static executable cannot load one; LUKS volumes need the normal build",
     {}},
};

}  // namespace

const LinkedLibrary* linked_library(const char* soname) {
  for (const LinkedLibrary& library : kLibraries) {
    if (std::strcmp(library.soname, soname) == 0) return &library;
  }
  return nullptr;
}

}  // namespace flscan::scanner::image
