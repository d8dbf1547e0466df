// BitLocker and BitLocker To Go volumes opened with a recovery password, a password or a startup
// key (.BEK file) through libbde (encrypted_volume.h, issue 15).
//
// libbde is loaded at run time, RTLD_LOCAL (dynamic_library.h): it uses Debian's libbfio.so.1,
// while flscan links its own copy of libbfio statically (for libevt) and other libyal libraries
// carry theirs. Every libbfio function used here is looked up through libbde's handle, so it is
// the copy libbde itself calls. libbde reads the volume through a libbfio handle of flscan's own
// (libbfio_handle_initialize with the callbacks below) that reads the volume's byte range of the
// container image with tsk_img_read: a BitLocker volume inside any container or partition opens.
// A startup key is handed over the same way, from memory (SecretBytes), never as a file name.
//
// Unlocked once per volume and scan (issue 19): opening a libbde handle with a password or a
// recovery password derives the volume key again (BitLocker's key stretching, about 0.9 s of CPU),
// and libbde has no way to hand the derived key over (libbde_volume_set_keys takes the FVEK, which
// no function returns). So the handle unlock_bitlocker opens is the only one: the volume's layer
// keeps it, and every thread that reads the volume (the detection, the listing, each worker, the
// host evidence) reads through it under its mutex, each through its own container handle (set for
// the read: TSK handles are not shared between threads, tsk_handle.h).
//
// libbde 20190102 (Debian 12) decrypts AES-CBC (with or without the Elephant diffuser) and AES-XTS
// volumes: checked on two real volumes made by Windows (cryptsetup's test images, AES-XTS-128 and
// To Go AES-CBC-128), whose decrypted bytes have the SHA-256 that cryptsetup's test suite records
// for them (tests/image/bitlocker_test.cpp).
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

#define LIBBDE_HAVE_BFIO
#include <libbde.h>

#include "scanner/image/libyal_error.h"
#include "scanner/image/dynamic_library.h"
#include "scanner/image/encrypted_volume.h"

#ifndef FLSCAN_BDE_SONAME
#error "FLSCAN_BDE_SONAME (libbde's SONAME) must be defined by the build"
#endif

namespace flscan::scanner::image {
namespace {

const DynamicLibrary& bde() {
  static const DynamicLibrary library(
      FLSCAN_BDE_SONAME, "BitLocker volumes",
      {"libbde_volume_initialize", "libbde_volume_free", "libbde_volume_open_file_io_handle", "libbde_volume_close",
       "libbde_volume_is_locked", "libbde_volume_get_size", "libbde_volume_get_encryption_method",
       "libbde_volume_read_buffer_at_offset", "libbde_volume_set_utf8_password",
       "libbde_volume_set_utf8_recovery_password", "libbde_volume_read_startup_key_file_io_handle",
       "libbde_error_sprint", "libbde_error_free", "libbfio_handle_initialize", "libbfio_handle_free",
       "libbfio_error_free"});
  return library;
}

template <typename F>
F fn(const char* name) {
  return bde().function<F>(name);
}

// One printable line for a libbde error (libyal_error.h), which is then freed.
std::string bde_error_text(libbde_error_t* error) {
  if (error == nullptr) return "unknown error";
  constexpr std::string_view kOperation = "libbde";
  const std::string line =
      libyal_error_text(kOperation, error, fn<decltype(&libbde_error_sprint)>("libbde_error_sprint"),
                        fn<decltype(&libbde_error_free)>("libbde_error_free"));
  return line.substr(kOperation.size() + 2);  // without "libbde: "
}

void free_bfio_error(libbfio_error_t* error) {
  if (error != nullptr) fn<decltype(&libbfio_error_free)>("libbfio_error_free")(&error);
}

// What flscan's libbfio handle reads: a byte range of a TSK image, or bytes in memory. The image is
// the one `*img` points at when the read is made (BdeVolume::read), null when none is: libbde may
// clone the handle, and a clone must read through the same one.
struct BfioSource {
  TSK_IMG_INFO* const* img = nullptr;
  std::uint64_t base = 0;
  const std::uint8_t* memory = nullptr;
  std::uint64_t size = 0;
  std::uint64_t position = 0;
  bool open = false;
};

BfioSource* source_of(intptr_t* io) { return reinterpret_cast<BfioSource*>(io); }

int bfio_free(intptr_t** io, libbfio_error_t**) {
  if (io != nullptr) {
    delete source_of(*io);
    *io = nullptr;
  }
  return 1;
}
int bfio_clone(intptr_t** destination, intptr_t* source, libbfio_error_t**) {
  if (destination == nullptr || source == nullptr) return -1;
  auto* copy = new BfioSource(*source_of(source));
  copy->open = false;
  copy->position = 0;
  *destination = reinterpret_cast<intptr_t*>(copy);
  return 1;
}
int bfio_open(intptr_t* io, int flags, libbfio_error_t**) {
  if ((flags & LIBBFIO_ACCESS_FLAG_WRITE) != 0) return -1;  // read only
  source_of(io)->open = true;
  return 1;
}
int bfio_close(intptr_t* io, libbfio_error_t**) {
  source_of(io)->open = false;
  return 0;
}
ssize_t bfio_read(intptr_t* io, uint8_t* buffer, size_t size, libbfio_error_t**) {
  BfioSource& source = *source_of(io);
  if (source.position >= source.size) return 0;
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(size, source.size - source.position));
  if (source.memory != nullptr) {
    std::memcpy(buffer, source.memory + source.position, n);
    source.position += n;
    return static_cast<ssize_t>(n);
  }
  TSK_IMG_INFO* img = source.img != nullptr ? *source.img : nullptr;
  if (img == nullptr) return -1;
  tsk_error_reset();
  const ssize_t got =
      tsk_img_read(img, static_cast<TSK_OFF_T>(source.base + source.position), reinterpret_cast<char*>(buffer), n);
  tsk_error_reset();
  if (got < 0) return -1;
  source.position += static_cast<std::uint64_t>(got);
  return got;
}
ssize_t bfio_write(intptr_t*, const uint8_t*, size_t, libbfio_error_t**) { return -1; }
off64_t bfio_seek(intptr_t* io, off64_t offset, int whence, libbfio_error_t**) {
  BfioSource& source = *source_of(io);
  std::int64_t base = 0;
  if (whence == SEEK_CUR) base = static_cast<std::int64_t>(source.position);
  if (whence == SEEK_END) base = static_cast<std::int64_t>(source.size);
  std::int64_t target = 0;
  if (__builtin_add_overflow(base, static_cast<std::int64_t>(offset), &target) || target < 0) return -1;
  source.position = static_cast<std::uint64_t>(target);
  return static_cast<off64_t>(target);
}
int bfio_exists(intptr_t*, libbfio_error_t**) { return 1; }
int bfio_is_open(intptr_t* io, libbfio_error_t**) { return source_of(io)->open ? 1 : 0; }
int bfio_get_size(intptr_t* io, size64_t* size, libbfio_error_t**) {
  *size = source_of(io)->size;
  return 1;
}

struct BfioFree {
  void operator()(libbfio_handle_t* handle) const {
    libbfio_error_t* error = nullptr;
    fn<decltype(&libbfio_handle_free)>("libbfio_handle_free")(&handle, &error);
    free_bfio_error(error);
  }
};
using BfioPtr = std::unique_ptr<libbfio_handle_t, BfioFree>;

BfioPtr bfio_handle(const BfioSource& source) {
  auto* io = new BfioSource(source);
  libbfio_handle_t* handle = nullptr;
  libbfio_error_t* error = nullptr;
  if (fn<decltype(&libbfio_handle_initialize)>("libbfio_handle_initialize")(
          &handle, reinterpret_cast<intptr_t*>(io), bfio_free, bfio_clone, bfio_open, bfio_close, bfio_read, bfio_write,
          bfio_seek, bfio_exists, bfio_is_open, bfio_get_size,
          LIBBFIO_FLAG_IO_HANDLE_MANAGED | LIBBFIO_FLAG_IO_HANDLE_CLONE_BY_FUNCTION, &error) != 1) {
    free_bfio_error(error);
    delete io;
    return nullptr;
  }
  return BfioPtr(handle);
}

std::atomic<std::uint64_t> g_unlock_attempts{0};

// An open libbde volume, shared by every thread that reads it; closed (then its libbfio handle
// freed) when the last one is done with it.
class BdeVolume {
 public:
  BdeVolume() = default;
  ~BdeVolume() {
    if (volume_ != nullptr) {
      libbde_error_t* error = nullptr;
      if (open_) fn<decltype(&libbde_volume_close)>("libbde_volume_close")(volume_, &error);
      if (error != nullptr) (void)bde_error_text(error);
      fn<decltype(&libbde_volume_free)>("libbde_volume_free")(&volume_, nullptr);
    }
  }
  BdeVolume(const BdeVolume&) = delete;
  BdeVolume& operator=(const BdeVolume&) = delete;

  enum class Outcome { opened, key_rejected, failed };

  // Opens the volume at `base`/`size` of `img` (the calling thread's) with `key`; `error` says why
  // when it failed. Once only.
  Outcome open(TSK_IMG_INFO* img, std::uint64_t base, std::uint64_t size, const VolumeKey& key, std::string& error) {
    const std::lock_guard lock(mutex_);
    const Reading reading(container_, img);
    libbde_error_t* failure = nullptr;
    if (fn<decltype(&libbde_volume_initialize)>("libbde_volume_initialize")(&volume_, &failure) != 1) {
      error = "libbde_volume_initialize: " + bde_error_text(failure);
      return Outcome::failed;
    }
    int set = 1;
    const SecretBytes& secret = *key.bytes;
    switch (key.kind) {
      case KeyKind::bitlocker_recovery_password:
        set = fn<decltype(&libbde_volume_set_utf8_recovery_password)>("libbde_volume_set_utf8_recovery_password")(
            volume_, secret.data(), secret.size(), &failure);
        break;
      case KeyKind::bitlocker_password:
        set = fn<decltype(&libbde_volume_set_utf8_password)>("libbde_volume_set_utf8_password")(
            volume_, secret.data(), secret.size(), &failure);
        break;
      case KeyKind::bitlocker_startup_key: {
        BfioPtr file(bfio_handle(BfioSource{nullptr, 0, secret.data(), secret.size(), 0, false}));
        if (!file) {
          error = "libbfio_handle_initialize failed";
          return Outcome::failed;
        }
        set = fn<decltype(&libbde_volume_read_startup_key_file_io_handle)>(
            "libbde_volume_read_startup_key_file_io_handle")(volume_, file.get(), &failure);
        break;
      }
      case KeyKind::luks_passphrase:
        return Outcome::key_rejected;
    }
    if (set != 1) {
      // A recovery password that is not one (wrong check digits), a file that is no startup key.
      (void)bde_error_text(failure);
      return Outcome::key_rejected;
    }
    io_ = bfio_handle(BfioSource{&container_, base, nullptr, size, 0, false});
    if (!io_) {
      error = "libbfio_handle_initialize failed";
      return Outcome::failed;
    }
    // Where libbde derives the volume key from the key given (key stretching for a password).
    g_unlock_attempts.fetch_add(1, std::memory_order_relaxed);
    const int opened = fn<decltype(&libbde_volume_open_file_io_handle)>("libbde_volume_open_file_io_handle")(
        volume_, io_.get(), LIBBDE_OPEN_READ, &failure);
    if (opened != 1) {
      if (opened == 0 || failure == nullptr) return Outcome::key_rejected;
      error = bde_error_text(failure);
      return Outcome::failed;
    }
    open_ = true;
    const int is_locked = fn<decltype(&libbde_volume_is_locked)>("libbde_volume_is_locked")(volume_, &failure);
    if (is_locked != 0) {
      if (is_locked < 0) (void)bde_error_text(failure);
      return Outcome::key_rejected;
    }
    return Outcome::opened;
  }

  // The encryption method and the plaintext's size of the opened volume, or libbde's error.
  tl::expected<std::pair<std::uint16_t, std::uint64_t>, std::string> method_and_size() {
    const std::lock_guard lock(mutex_);
    libbde_error_t* failure = nullptr;
    std::uint16_t method = 0;
    size64_t plain_size = 0;
    if (fn<decltype(&libbde_volume_get_encryption_method)>("libbde_volume_get_encryption_method")(volume_, &method,
                                                                                                  &failure) != 1 ||
        fn<decltype(&libbde_volume_get_size)>("libbde_volume_get_size")(volume_, &plain_size, &failure) != 1) {
      return tl::make_unexpected(bde_error_text(failure));
    }
    return std::pair<std::uint16_t, std::uint64_t>{method, plain_size};
  }

  // The plaintext at `offset`, read through `img` (the calling thread's handle of the container),
  // one thread at a time; -1 with `error` set when libbde fails.
  ssize_t read(TSK_IMG_INFO* img, std::uint64_t offset, char* out, std::size_t length, std::string& error) {
    const std::lock_guard lock(mutex_);
    const Reading reading(container_, img);
    libbde_error_t* failure = nullptr;
    const ssize_t got = fn<decltype(&libbde_volume_read_buffer_at_offset)>("libbde_volume_read_buffer_at_offset")(
        volume_, out, length, static_cast<off64_t>(offset), &failure);
    if (got < 0) error = bde_error_text(failure);
    return got;
  }

 private:
  // `slot` names `img` while a call reads through it (mutex_ held), and nothing afterwards.
  class Reading {
   public:
    Reading(TSK_IMG_INFO*& slot, TSK_IMG_INFO* img) : slot_(slot) { slot_ = img; }
    ~Reading() { slot_ = nullptr; }
    Reading(const Reading&) = delete;
    Reading& operator=(const Reading&) = delete;

   private:
    TSK_IMG_INFO*& slot_;
  };

  std::mutex mutex_;                   // libbde's handle, and container_, are used by one thread at a time
  TSK_IMG_INFO* container_ = nullptr;  // the container of the call in progress (BfioSource::img)
  // Declared before the volume: freed after it (whose destructor closes it) is gone.
  BfioPtr io_;
  libbde_volume_t* volume_ = nullptr;
  bool open_ = false;
};

// The decrypted volume, read on one thread through the shared libbde handle and this thread's own
// handle of the container.
class BdeReader final : public ImageReader {
 public:
  BdeReader(std::shared_ptr<BdeVolume> volume, TSK_IMG_INFO* container)
      : volume_(std::move(volume)), container_(container) {}
  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    std::string error;
    const ssize_t got = volume_->read(container_, offset, out, length, error);
    if (got < 0) {
      tsk_error_reset();
      tsk_error_set_errno(TSK_ERR_IMG_READ);
      tsk_error_set_errstr("libbde: %s", error.c_str());
    }
    return got;
  }

 private:
  std::shared_ptr<BdeVolume> volume_;
  TSK_IMG_INFO* container_;
};

class BdeLayer final : public VolumeLayer {
 public:
  BdeLayer(std::shared_ptr<BdeVolume> volume, std::uint64_t size) : volume_(std::move(volume)), size_(size) {}

  // No key derivation here: every image opened reads through the volume unlocked once.
  tl::expected<ImgPtr, std::string> open(TSK_IMG_INFO* container) const override {
    ImgPtr img = open_callback_image(std::make_unique<BdeReader>(volume_, container), size_);
    if (!img) return tl::make_unexpected(tsk_error_text("open the decrypted BitLocker volume"));
    return img;
  }

 private:
  std::shared_ptr<BdeVolume> volume_;
  std::uint64_t size_;
};

std::string method_name(std::uint16_t method) {
  switch (method) {
    case LIBBDE_ENCRYPTION_METHOD_AES_128_CBC_DIFFUSER:
      return "AES-CBC 128-bit with Elephant diffuser";
    case LIBBDE_ENCRYPTION_METHOD_AES_256_CBC_DIFFUSER:
      return "AES-CBC 256-bit with Elephant diffuser";
    case LIBBDE_ENCRYPTION_METHOD_AES_128_CBC:
      return "AES-CBC 128-bit";
    case LIBBDE_ENCRYPTION_METHOD_AES_256_CBC:
      return "AES-CBC 256-bit";
    case LIBBDE_ENCRYPTION_METHOD_AES_128_XTS:
      return "AES-XTS 128-bit";
    case LIBBDE_ENCRYPTION_METHOD_AES_256_XTS:
      return "AES-XTS 256-bit";
    default:
      return "encryption method 0x" + [method] {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex;
        for (int shift = 12; shift >= 0; shift -= 4) hex += kHex[(method >> shift) & 15];
        return hex;
      }();
  }
}

}  // namespace

std::uint64_t bitlocker_unlock_attempts() { return g_unlock_attempts.load(std::memory_order_relaxed); }

UnlockResult unlock_bitlocker(TSK_IMG_INFO* img, std::uint64_t offset, std::uint64_t length,
                              const std::string& signature) {
  if (const char* why = bde().unavailable()) {
    return tl::make_unexpected(LockedVolume{NotScannedReason::encrypted_volume, signature + ": " + why});
  }
  const std::uint64_t image_size = static_cast<std::uint64_t>(img->size);
  const std::uint64_t size = std::min(length, image_size - std::min(image_size, offset));
  std::size_t tried = 0;
  for (const VolumeKey& key : volume_keys().keys) {
    if (key.kind == KeyKind::luks_passphrase) continue;
    ++tried;
    auto volume = std::make_shared<BdeVolume>();
    std::string error;
    switch (volume->open(img, offset, size, key, error)) {
      case BdeVolume::Outcome::key_rejected:
        continue;
      case BdeVolume::Outcome::failed:
        return tl::make_unexpected(
            LockedVolume{NotScannedReason::encrypted_volume, signature + ": libbde cannot open the volume: " + error});
      case BdeVolume::Outcome::opened:
        break;
    }
    const auto method_size = volume->method_and_size();
    if (!method_size) {
      return tl::make_unexpected(
          LockedVolume{NotScannedReason::encrypted_volume, signature + ": libbde: " + method_size.error()});
    }
    const std::string description = "BitLocker " + method_name(method_size->first);
    auto layer = std::make_shared<BdeLayer>(std::move(volume), method_size->second);
    return UnlockedVolume{std::move(layer), key.kind, description};
  }
  return tl::make_unexpected(LockedVolume{
      NotScannedReason::key_rejected,
      signature + ": none of the " + std::to_string(tried) +
          " BitLocker key(s) given (--bitlocker-recovery-password, --bitlocker-password, --bitlocker-key-file) "
          "opens it"});
}

}  // namespace flscan::scanner::image
