// The Sleuth Kit, loaded when flscan first opens a disk image instead of at every start.
//
// libtsk comes with about 40 shared libraries (libewf, libvhdi, libvmdk, afflib and, through
// afflib, libcurl, GnuTLS, Kerberos, LDAP, ...). Linked the usual way, the dynamic loader maps and
// relocates every one of them before main() on every run, scan of a directory or `--version`
// alike: that tripled the start-up work (about 25 million instructions instead of 3 million for
// `flscan --version`). flscan is therefore not linked against libtsk. This file defines the TSK
// functions flscan calls; each forwards to the real one, found with dlopen/dlsym in libtsk (the
// SONAME found at build time, FLSCAN_TSK_SONAME) the first time it is needed.
//
// Calling a TSK function that is not listed here fails at link time ("undefined reference to
// tsk_..."): add an X(...) line for it to FLSCAN_TSK_PLAIN_FUNCTIONS (or write it out below,
// and add its name to kFunctions). The header's declaration checks each line's types.
//
// Without libtsk on the machine, or with a libtsk that lacks one of the functions listed here (a
// different build of The Sleuth Kit under the same SONAME), flscan starts and scans directories as
// usual; opening an image fails like any TSK open (a null handle) and tsk_error_get() says why, so
// the image is reported NOT SCANNED with that reason. Every function is looked up when the library
// is loaded, so none can be missing later; every other function here needs a handle such an open
// returned, so it runs only once the library is loaded.
//
// The portable build (FLSCAN_STATIC_RUNTIME: README "Portable binary") links libtsk.a instead: the
// TSK functions are then The Sleuth Kit's own, and the library is always there.
#include "scanner/image/tsk_runtime.h"

#ifdef FLSCAN_STATIC_RUNTIME

const char* flscan::scanner::tsk_unavailable() { return nullptr; }

#else

#include <dlfcn.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tsk/libtsk.h>

#ifndef FLSCAN_TSK_SONAME
#error "FLSCAN_TSK_SONAME (libtsk's SONAME) must be defined by the build"
#endif

// The functions forwarded as they are: X(return type, name, parameters, arguments).
#define FLSCAN_TSK_PLAIN_FUNCTIONS(X)                                                                                  \
  X(void, tsk_error_set_errno, (uint32_t t_errno), (t_errno))                                                          \
  X(void, tsk_img_close, (TSK_IMG_INFO * img), (img))                                                                  \
  X(ssize_t, tsk_img_read, (TSK_IMG_INFO * img, TSK_OFF_T off, char* buf, size_t len), (img, off, buf, len))           \
  X(const char*, tsk_img_type_toname, (TSK_IMG_TYPE_ENUM type), (type))                                                \
  X(TSK_VS_INFO*, tsk_vs_open, (TSK_IMG_INFO * img, TSK_DADDR_T offset, TSK_VS_TYPE_ENUM type), (img, offset, type))   \
  X(void, tsk_vs_close, (TSK_VS_INFO * vs), (vs))                                                                      \
  X(const TSK_VS_PART_INFO*, tsk_vs_part_get, (const TSK_VS_INFO* vs, TSK_PNUM_T idx), (vs, idx))                      \
  X(TSK_FS_INFO*, tsk_fs_open_img, (TSK_IMG_INFO * img, TSK_OFF_T offset, TSK_FS_TYPE_ENUM type), (img, offset, type)) \
  X(void, tsk_fs_close, (TSK_FS_INFO * fs), (fs))                                                                      \
  X(const char*, tsk_fs_type_toname, (TSK_FS_TYPE_ENUM type), (type))                                                  \
  X(TSK_FS_DIR*, tsk_fs_dir_open_meta, (TSK_FS_INFO * fs, TSK_INUM_T addr), (fs, addr))                                \
  X(size_t, tsk_fs_dir_getsize, (const TSK_FS_DIR* dir), (dir))                                                        \
  X(const TSK_FS_NAME*, tsk_fs_dir_get_name, (const TSK_FS_DIR* dir, size_t idx), (dir, idx))                          \
  X(TSK_FS_FILE*, tsk_fs_dir_get, (const TSK_FS_DIR* dir, size_t idx), (dir, idx))                                     \
  X(void, tsk_fs_dir_close, (TSK_FS_DIR * dir), (dir))                                                                 \
  X(TSK_FS_FILE*, tsk_fs_file_open_meta, (TSK_FS_INFO * fs, TSK_FS_FILE * file, TSK_INUM_T addr), (fs, file, addr))    \
  X(const TSK_FS_ATTR*, tsk_fs_file_attr_get, (TSK_FS_FILE * file), (file))                                            \
  X(ssize_t, tsk_fs_file_read,                                                                                         \
    (TSK_FS_FILE * file, TSK_OFF_T off, char* buf, size_t len, TSK_FS_FILE_READ_FLAG_ENUM flags),                      \
    (file, off, buf, len, flags))                                                                                      \
  X(void, tsk_fs_file_close, (TSK_FS_FILE * file), (file))

namespace {

// Every function flscan takes from libtsk: the plain forwards and the six written out below.
#define FLSCAN_TSK_NAME(ret, name, params, args) #name,
constexpr const char* kFunctions[] = {"tsk_img_open_utf8_sing",
                                      "tsk_img_open_utf8",
                                      "tsk_img_open_external",
                                      "tsk_error_vset_errstr",
                                      "tsk_error_get",
                                      "tsk_error_reset",
                                      FLSCAN_TSK_PLAIN_FUNCTIONS(FLSCAN_TSK_NAME)};
#undef FLSCAN_TSK_NAME

struct Library {
  void* handle = nullptr;
  std::string error;  // why it could not be loaded
};

// Set once the library was looked for (loaded or not); tsk_error_reset/get do not load it.
std::atomic<const Library*> g_library{nullptr};

const Library& library() {
  static const Library loaded = [] {
    Library lib;
    ::dlerror();
    lib.handle = ::dlopen(FLSCAN_TSK_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib.handle == nullptr) {
      const char* why = ::dlerror();
      lib.error = std::string("disk images need The Sleuth Kit (" FLSCAN_TSK_SONAME "), which could not be loaded: ") +
                  (why != nullptr ? why : "unknown error");
      return lib;
    }
    // Every function now, so that a lookup after this cannot fail (see symbol()).
    for (const char* name : kFunctions) {
      if (::dlsym(lib.handle, name) == nullptr) {
        lib.error =
            std::string("disk images need The Sleuth Kit (" FLSCAN_TSK_SONAME "), but the library found lacks ") +
            name + " (a different build or version of The Sleuth Kit?)";
        ::dlclose(lib.handle);
        lib.handle = nullptr;
        return lib;
      }
    }
    return lib;
  }();
  g_library.store(&loaded, std::memory_order_release);
  return loaded;
}

// The address of a TSK function. Only reached with the library loaded (see the top of the file),
// and every name was found when it was loaded: the abort below cannot be reached.
void* symbol(const char* name) {
  const Library& lib = library();
  void* address = lib.handle != nullptr ? ::dlsym(lib.handle, name) : nullptr;
  if (address == nullptr) {
    std::fprintf(stderr, "flscan: %s: %s\n", name,
                 lib.handle != nullptr ? "not found in " FLSCAN_TSK_SONAME : lib.error.c_str());
    std::abort();
  }
  return address;
}

}  // namespace

const char* flscan::scanner::tsk_unavailable() {
  const Library& lib = library();
  return lib.handle != nullptr ? nullptr : lib.error.c_str();
}

// The first lookup of each function is thread-safe (a function-local static).
#define FLSCAN_TSK_FORWARD(ret, name, params, args)                            \
  ret name params {                                                            \
    static const auto real = reinterpret_cast<decltype(&name)>(symbol(#name)); \
    return real args;                                                          \
  }

// Opening an image is where the library is loaded; without it, the open fails (error below).
TSK_IMG_INFO* tsk_img_open_utf8_sing(const char* a_image, TSK_IMG_TYPE_ENUM type, unsigned int a_ssize) {
  if (library().handle == nullptr) return nullptr;
  static const auto real = reinterpret_cast<decltype(&tsk_img_open_utf8_sing)>(symbol("tsk_img_open_utf8_sing"));
  return real(a_image, type, a_ssize);
}

// A split raw set, its segments listed in order (image_source.cpp).
TSK_IMG_INFO* tsk_img_open_utf8(int num_img, const char* const images[], TSK_IMG_TYPE_ENUM type, unsigned int a_ssize) {
  if (library().handle == nullptr) return nullptr;
  static const auto real = reinterpret_cast<decltype(&tsk_img_open_utf8)>(symbol("tsk_img_open_utf8"));
  return real(num_img, images, type, a_ssize);
}

// The fuzz target opens its input through a callback image before any file image: a load point too.
TSK_IMG_INFO* tsk_img_open_external(void* ext_img_info, TSK_OFF_T size, unsigned int sector_size,
                                    ssize_t (*read)(TSK_IMG_INFO* img, TSK_OFF_T off, char* buf, size_t len),
                                    void (*close)(TSK_IMG_INFO*), void (*imgstat)(TSK_IMG_INFO*, FILE*)) {
  if (library().handle == nullptr) return nullptr;
  static const auto real = reinterpret_cast<decltype(&tsk_img_open_external)>(symbol("tsk_img_open_external"));
  return real(ext_img_info, size, sector_size, read, close, imgstat);
}

// Variadic: forwarded to the va_list form.
void tsk_error_set_errstr(const char* format, ...) {
  static const auto real = reinterpret_cast<decltype(&tsk_error_vset_errstr)>(symbol("tsk_error_vset_errstr"));
  va_list args;
  va_start(args, format);
  real(format, args);
  va_end(args);
}

const char* tsk_error_get() {
  const Library* lib = g_library.load(std::memory_order_acquire);
  if (lib == nullptr) return nullptr;  // nothing was tried yet: no error
  if (lib->handle == nullptr) return lib->error.c_str();
  static const auto real = reinterpret_cast<decltype(&tsk_error_get)>(symbol("tsk_error_get"));
  return real();
}

void tsk_error_reset() {
  const Library* lib = g_library.load(std::memory_order_acquire);
  if (lib == nullptr || lib->handle == nullptr) return;
  static const auto real = reinterpret_cast<decltype(&tsk_error_reset)>(symbol("tsk_error_reset"));
  real();
}

FLSCAN_TSK_PLAIN_FUNCTIONS(FLSCAN_TSK_FORWARD)

#endif  // FLSCAN_STATIC_RUNTIME
