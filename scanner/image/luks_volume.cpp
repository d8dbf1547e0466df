// LUKS1 and LUKS2 volumes opened with a passphrase (encrypted_volume.h, issue 15).
//
// libcryptsetup does the LUKS part: it parses the header, tries the passphrase on the key slots
// (PBKDF2 or Argon2, anti-forensic split) and checks the volume key against the header's digest.
// It is given the header's bytes (the binary headers with the JSON metadata, then the areas of the
// active key slots, at most limits::kMaxLuksHeaderBytes in all) in a memory file
// (memfd), opened by its /proc/self/fd path: libcryptsetup reads headers from a regular file
// without a loop device, device-mapper or root, and this way the volume may lie anywhere in any
// container. It is loaded at run time like libtsk (tsk_runtime.cpp: libcryptsetup brings
// libdevmapper, libjson-c, libargon2, libblkid and its own libcrypto, which every run would map
// and relocate before main() for the few runs that meet a LUKS volume), RTLD_LOCAL
// (dynamic_library.h).
//
// The data segment is decrypted here, with OpenSSL (linked for hashing already), by dm-crypt's
// rules (the kernel's Documentation/admin-guide/device-mapper/dm-crypt.rst and cryptsetup's
// LUKS2 on-disk format): the segment starts crypt_get_data_offset() 512-byte sectors into the
// volume; each encryption sector (512 bytes, or the LUKS2 segment's sector_size up to 4096) is
// encrypted on its own, with an IV from its sector number counted in 512-byte units from the
// segment's start plus the segment's iv_tweak (crypt_get_iv_offset) — in 512-byte units even for
// 4096-byte sectors, as LUKS2 never sets dm-crypt's iv_large_sectors — as:
//   plain64: the number as 64 bits little-endian, zero-padded to the IV size;
//   plain:   its low 32 bits, the same way;
//   essiv:H: plain64's block encrypted (AES-ECB) with the hash H of the volume key as the key.
// Ciphers: aes-xts-plain64 and aes-xts-plain (cryptsetup's and qemu's default), aes-cbc-essiv:sha256
// (older cryptsetup's default), aes-cbc-plain64, aes-cbc-plain. Any other cipher is reported
// NOT SCANNED encrypted-volume naming it.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libcryptsetup.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "engine/byte_view.h"
#include "scanner/image/dynamic_library.h"
#include "scanner/image/encrypted_volume.h"
#include "scanner/image/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"

#ifndef FLSCAN_CRYPTSETUP_SONAME
#error "FLSCAN_CRYPTSETUP_SONAME (libcryptsetup's SONAME) must be defined by the build"
#endif

namespace flscan::scanner::image {
namespace {

constexpr std::uint64_t kSector = 512;
// A LUKS1 header with its 8 key slot descriptors; LUKS2's binary header is 4096 bytes, followed
// by its JSON area (hdr_size in all, twice: primary and secondary).
constexpr std::uint64_t kLuks1HeaderBytes = 4096;
constexpr std::uint64_t kMaxLuks2HeaderBytes = 4 * 1024 * 1024;  // hdr_size's largest LUKS2 value
// Ciphertext read from the container at once.
constexpr std::size_t kReadChunk = 256 * 1024;

const DynamicLibrary& cryptsetup() {
  static const DynamicLibrary library(
      FLSCAN_CRYPTSETUP_SONAME, "LUKS volumes",
      {"crypt_init", "crypt_free", "crypt_load", "crypt_volume_key_get", "crypt_get_type", "crypt_get_cipher",
       "crypt_get_cipher_mode", "crypt_get_data_offset", "crypt_get_iv_offset", "crypt_get_volume_key_size",
       "crypt_get_sector_size", "crypt_set_log_callback", "crypt_keyslot_max", "crypt_keyslot_status",
       "crypt_keyslot_area"});
  return library;
}

template <typename F>
F fn(const char* name) {
  return cryptsetup().function<F>(name);
}

// libcryptsetup's messages go nowhere by default (its default logger writes to stderr); the last
// error of a device is kept for the report.
void quiet_log(int level, const char* message, void* user) {
  if (level != CRYPT_LOG_ERROR || user == nullptr || message == nullptr) return;
  auto* last = static_cast<std::string*>(user);
  *last = message;
  for (char& c : *last) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  while (!last->empty() && last->back() == ' ') last->pop_back();
}

struct CryptFree {
  void operator()(crypt_device* cd) const { fn<void (*)(crypt_device*)>("crypt_free")(cd); }
};
using CryptPtr = std::unique_ptr<crypt_device, CryptFree>;

LockedVolume locked(NotScannedReason reason, std::string detail) { return LockedVolume{reason, std::move(detail)}; }

// Copies bytes [from, to) of the volume into the memory file.
bool copy_range(TSK_IMG_INFO* img, std::uint64_t base, int fd, std::uint64_t from, std::uint64_t to,
                std::string& error) {
  std::vector<char> buffer(kReadChunk);
  for (std::uint64_t at = from; at < to;) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), to - at));
    tsk_error_reset();
    const ssize_t got = tsk_img_read(img, static_cast<TSK_OFF_T>(base + at), buffer.data(), want);
    if (got <= 0) {
      error = got < 0 ? tsk_error_text("read the LUKS header") : "the image ends inside the LUKS header";
      return false;
    }
    const std::size_t n = static_cast<std::size_t>(got);
    if (::pwrite(fd, buffer.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) {
      error = "write the LUKS header to a memory file: " + errno_text(errno);
      return false;
    }
    at += n;
  }
  return true;
}

// Copies every active key slot's area of the volume into the memory file (the first `probe` bytes,
// the headers, are there already); the error says why one cannot be.
tl::expected<void, std::string> copy_key_slots(TSK_IMG_INFO* img, std::uint64_t base, std::uint64_t length, int fd,
                                               std::uint64_t probe, crypt_device* cd) {
  const char* type = fn<decltype(&crypt_get_type)>("crypt_get_type")(cd);
  const int slots = fn<decltype(&crypt_keyslot_max)>("crypt_keyslot_max")(type);
  std::uint64_t total = 0;
  std::string error;
  for (int slot = 0; slot < slots; ++slot) {
    const crypt_keyslot_info status = fn<decltype(&crypt_keyslot_status)>("crypt_keyslot_status")(cd, slot);
    if (status != CRYPT_SLOT_ACTIVE && status != CRYPT_SLOT_ACTIVE_LAST) continue;
    std::uint64_t area = 0;
    std::uint64_t size = 0;
    if (fn<decltype(&crypt_keyslot_area)>("crypt_keyslot_area")(cd, slot, &area, &size) < 0) continue;
    std::uint64_t end = 0;
    if (__builtin_add_overflow(area, size, &end) || end > length) {
      return tl::make_unexpected("key slot " + std::to_string(slot) + " lies past the end of the volume");
    }
    total += size;
    if (total > limits::kMaxLuksHeaderBytes) {
      return tl::make_unexpected("the key slots hold more than " + std::to_string(limits::kMaxLuksHeaderBytes) +
                                 " bytes");
    }
    const std::uint64_t from = std::max(area, probe);
    if (from < end && !copy_range(img, base, fd, from, end, error)) return tl::make_unexpected(error);
  }
  return {};
}

// The largest value of every `"key": number` in a LUKS2 JSON area (any nesting; a value that is
// not a plain number counts as 0, and libcryptsetup refuses such a header anyway).
std::uint64_t largest_json_number(std::string_view json, std::string_view key) {
  const std::string quoted = "\"" + std::string(key) + "\"";
  std::uint64_t largest = 0;
  for (std::size_t at = json.find(quoted); at != std::string_view::npos; at = json.find(quoted, at + 1)) {
    std::size_t i = at + quoted.size();
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
    std::uint64_t value = 0;
    bool digits = false;
    for (; i < json.size() && json[i] >= '0' && json[i] <= '9'; ++i) {
      digits = true;
      if (__builtin_mul_overflow(value, 10u, &value) ||
          __builtin_add_overflow(value, static_cast<std::uint64_t>(json[i] - '0'), &value)) {
        value = UINT64_MAX;
        break;
      }
    }
    if (digits) largest = std::max(largest, value);
  }
  return largest;
}

// Why the key derivation the header in `fd` (the memory file) asks for is refused, if it is: a
// count or an amount of memory above limits.h's, which a crafted header uses to hold the scan.
std::optional<std::string> kdf_cost_refusal(int fd, unsigned version, std::uint64_t header_bytes) {
  std::uint64_t iterations = 0;
  std::uint64_t memory_kib = 0;
  if (version == 1) {
    std::array<std::uint8_t, kLuks1HeaderBytes> header{};
    if (::pread(fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) return std::nullopt;
    const ByteView bytes(header.data(), header.size());
    iterations = bytes.u32be(0xA4).value_or(0);  // mk-digest-iter
    for (std::size_t slot = 0; slot < 8; ++slot) {
      const std::size_t entry = 0xD0 + 48 * slot;  // key slot: active marker, then its iterations
      if (bytes.u32be(entry) == 0x00AC71F3u)
        iterations = std::max<std::uint64_t>(iterations, bytes.u32be(entry + 4).value_or(0));
    }
  } else {
    constexpr std::size_t kJsonAt = 4096;
    if (header_bytes <= kJsonAt) return std::nullopt;
    std::string json(static_cast<std::size_t>(header_bytes - kJsonAt), '\0');
    const ssize_t got = ::pread(fd, json.data(), json.size(), kJsonAt);
    if (got <= 0) return std::nullopt;
    json.resize(::strnlen(json.data(), static_cast<std::size_t>(got)));
    iterations = std::max(largest_json_number(json, "iterations"), largest_json_number(json, "time"));
    memory_kib = largest_json_number(json, "memory");
  }
  if (iterations > limits::kMaxLuksKdfIterations) {
    return "the header asks a key derivation of " + std::to_string(iterations) +
           " iterations, more than flscan runs (" + std::to_string(limits::kMaxLuksKdfIterations) + ")";
  }
  if (memory_kib > limits::kMaxLuksArgon2MemoryKiB) {
    return "the header asks a key derivation using " + std::to_string(memory_kib) +
           " KiB of memory, more than flscan gives it (" + std::to_string(limits::kMaxLuksArgon2MemoryKiB) + " KiB)";
  }
  return std::nullopt;
}

enum class IvMode { plain64, plain, essiv_sha256 };

// What the sectors are decrypted with: OpenSSL's cipher, the IV rule and the key.
struct CipherPlan {
  const EVP_CIPHER* cipher = nullptr;
  IvMode iv = IvMode::plain64;
};

// The dm-crypt cipher "aes-MODE-IV" with a volume key of `key_bytes`, or nullopt when flscan does
// not decrypt it.
std::optional<CipherPlan> plan_for(std::string_view cipher, std::string_view mode, std::size_t key_bytes) {
  if (cipher != "aes") return std::nullopt;
  CipherPlan plan;
  std::string_view iv;
  if (mode.substr(0, 4) == "xts-") {
    plan.cipher = key_bytes == 32 ? EVP_aes_128_xts() : key_bytes == 64 ? EVP_aes_256_xts() : nullptr;
    iv = mode.substr(4);
  } else if (mode.substr(0, 4) == "cbc-") {
    plan.cipher = key_bytes == 16   ? EVP_aes_128_cbc()
                  : key_bytes == 24 ? EVP_aes_192_cbc()
                  : key_bytes == 32 ? EVP_aes_256_cbc()
                                    : nullptr;
    iv = mode.substr(4);
  }
  if (plan.cipher == nullptr) return std::nullopt;
  if (iv == "plain64") {
    plan.iv = IvMode::plain64;
  } else if (iv == "plain") {
    plan.iv = IvMode::plain;
  } else if (iv == "essiv:sha256" && mode.substr(0, 4) == "cbc-") {
    plan.iv = IvMode::essiv_sha256;
  } else {
    return std::nullopt;
  }
  return plan;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// The decrypted data segment, read through the container image on one thread.
class LuksReader final : public ImageReader {
 public:
  LuksReader(TSK_IMG_INFO* container, std::uint64_t data_start, std::uint64_t data_size, unsigned sector_size,
             std::uint64_t iv_offset, CipherPlan plan, CtxPtr data, CtxPtr essiv)
      : container_(container),
        data_start_(data_start),
        data_size_(data_size),
        sector_size_(sector_size),
        iv_offset_(iv_offset),
        plan_(plan),
        data_(std::move(data)),
        essiv_(std::move(essiv)),
        buffer_(kReadChunk) {}

  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset >= data_size_) return 0;
    length = static_cast<std::size_t>(std::min<std::uint64_t>(length, data_size_ - offset));
    std::size_t done = 0;
    while (done < length) {
      const std::uint64_t at = offset + done;
      const std::uint64_t first = at / sector_size_ * sector_size_;
      const std::uint64_t end =
          std::min<std::uint64_t>(data_size_, (at + (length - done) + sector_size_ - 1) / sector_size_ * sector_size_);
      const std::size_t span = static_cast<std::size_t>(std::min<std::uint64_t>(end - first, buffer_.size()));
      if (!decrypt(first, span)) return -1;
      const std::size_t skip = static_cast<std::size_t>(at - first);
      const std::size_t n = std::min(span - skip, length - done);
      std::memcpy(out + done, buffer_.data() + skip, n);
      done += n;
    }
    return static_cast<ssize_t>(done);
  }

 private:
  // Reads and decrypts `span` bytes (whole sectors) of the segment from `first` into buffer_.
  bool decrypt(std::uint64_t first, std::size_t span) {
    tsk_error_reset();
    const ssize_t got = tsk_img_read(container_, static_cast<TSK_OFF_T>(data_start_ + first),
                                     reinterpret_cast<char*>(buffer_.data()), span);
    if (got != static_cast<ssize_t>(span)) {
      if (got >= 0) {
        tsk_error_reset();
        tsk_error_set_errno(TSK_ERR_IMG_READ);
        tsk_error_set_errstr("the image ends inside the LUKS volume's data");
      }
      return false;
    }
    for (std::size_t at = 0; at < span; at += sector_size_) {
      std::array<unsigned char, 16> iv = iv_for((first + at) / kSector + iv_offset_);
      int out_length = 0;
      unsigned char* sector = buffer_.data() + at;
      if (EVP_DecryptInit_ex(data_.get(), nullptr, nullptr, nullptr, iv.data()) != 1 ||
          EVP_DecryptUpdate(data_.get(), sector, &out_length, sector, static_cast<int>(sector_size_)) != 1 ||
          out_length != static_cast<int>(sector_size_)) {
        tsk_error_reset();
        tsk_error_set_errno(TSK_ERR_IMG_READ);
        tsk_error_set_errstr("OpenSSL could not decrypt a sector of the LUKS volume");
        return false;
      }
    }
    return true;
  }

  std::array<unsigned char, 16> iv_for(std::uint64_t sector) {
    std::array<unsigned char, 16> iv{};
    const int bytes = plan_.iv == IvMode::plain ? 4 : 8;
    for (int i = 0; i < bytes; ++i) iv[static_cast<std::size_t>(i)] = static_cast<unsigned char>(sector >> (8 * i));
    if (plan_.iv == IvMode::essiv_sha256) {
      std::array<unsigned char, 32> encrypted{};
      int n = 0;
      if (EVP_EncryptUpdate(essiv_.get(), encrypted.data(), &n, iv.data(), static_cast<int>(iv.size())) == 1 &&
          n == 16) {
        std::memcpy(iv.data(), encrypted.data(), iv.size());
      }
    }
    return iv;
  }

  TSK_IMG_INFO* container_;
  std::uint64_t data_start_;
  std::uint64_t data_size_;
  unsigned sector_size_;
  std::uint64_t iv_offset_;
  CipherPlan plan_;
  CtxPtr data_;
  CtxPtr essiv_;
  std::vector<unsigned char> buffer_;
};

class LuksLayer final : public VolumeLayer {
 public:
  LuksLayer(std::uint64_t offset, std::uint64_t data_offset, std::uint64_t data_size, unsigned sector_size,
            std::uint64_t iv_offset, CipherPlan plan, Secret key)
      : offset_(offset),
        data_offset_(data_offset),
        data_size_(data_size),
        sector_size_(sector_size),
        iv_offset_(iv_offset),
        plan_(plan),
        key_(std::move(key)) {}

  tl::expected<ImgPtr, std::string> open(TSK_IMG_INFO* container) const override {
    CtxPtr data(EVP_CIPHER_CTX_new());
    if (!data || EVP_DecryptInit_ex(data.get(), plan_.cipher, nullptr, key_->data(), nullptr) != 1) {
      return tl::make_unexpected(std::string("OpenSSL could not set up the LUKS volume's cipher"));
    }
    EVP_CIPHER_CTX_set_padding(data.get(), 0);
    CtxPtr essiv;
    if (plan_.iv == IvMode::essiv_sha256) {
      SecretBytes salt(SHA256_DIGEST_LENGTH);
      salt.resize(SHA256_DIGEST_LENGTH);
      SHA256(key_->data(), key_->size(), salt.data());
      essiv.reset(EVP_CIPHER_CTX_new());
      if (!essiv || EVP_EncryptInit_ex(essiv.get(), EVP_aes_256_ecb(), nullptr, salt.data(), nullptr) != 1) {
        return tl::make_unexpected(std::string("OpenSSL could not set up the LUKS volume's ESSIV"));
      }
      EVP_CIPHER_CTX_set_padding(essiv.get(), 0);
    }
    auto reader = std::make_unique<LuksReader>(container, offset_ + data_offset_, data_size_, sector_size_, iv_offset_,
                                               plan_, std::move(data), std::move(essiv));
    ImgPtr img = open_callback_image(std::move(reader), data_size_, sector_size_);
    if (!img) return tl::make_unexpected(tsk_error_text("open the decrypted LUKS volume"));
    return img;
  }

 private:
  std::uint64_t offset_;
  std::uint64_t data_offset_;
  std::uint64_t data_size_;
  unsigned sector_size_;
  std::uint64_t iv_offset_;
  CipherPlan plan_;
  Secret key_;
};

}  // namespace

UnlockResult unlock_luks(TSK_IMG_INFO* img, std::uint64_t offset, std::uint64_t length, const std::string& signature) {
  if (const char* why = cryptsetup().unavailable()) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume, signature + ": " + why));
  }
  // libcryptsetup initialises its crypto backend and logging globally, on first use: one volume
  // at a time (it runs once per volume, at detection; the sectors are read without it).
  static std::mutex one_at_a_time;
  const std::lock_guard<std::mutex> lock(one_at_a_time);
  static std::once_flag quiet;
  std::call_once(quiet,
                 [] { fn<decltype(&crypt_set_log_callback)>("crypt_set_log_callback")(nullptr, quiet_log, nullptr); });

  // The header's size: LUKS1's is fixed, LUKS2's binary header says (hdr_size, big-endian at 8).
  std::array<std::uint8_t, 16> magic{};
  tsk_error_reset();
  if (tsk_img_read(img, static_cast<TSK_OFF_T>(offset), reinterpret_cast<char*>(magic.data()), magic.size()) !=
      static_cast<ssize_t>(magic.size())) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume, tsk_error_text("read the LUKS header")));
  }
  const unsigned version = static_cast<unsigned>(magic[6] << 8 | magic[7]);
  std::uint64_t probe = kLuks1HeaderBytes;
  if (version == 2) {
    const std::uint64_t hdr_size = ByteView(magic.data(), magic.size()).u64be(8).value_or(0);
    if (hdr_size < kLuks1HeaderBytes || hdr_size > kMaxLuks2HeaderBytes) {
      return tl::make_unexpected(
          locked(NotScannedReason::encrypted_volume,
                 signature + ": the LUKS2 header size " + std::to_string(hdr_size) + " is not a valid one"));
    }
    probe = 2 * hdr_size;
  }
  probe = std::min(probe, length);

  const Fd memory(::memfd_create("flscan-luks-header", MFD_CLOEXEC));
  if (!memory.valid()) {
    return tl::make_unexpected(
        locked(NotScannedReason::encrypted_volume, signature + ": memfd_create: " + errno_text(errno)));
  }
  std::string error;
  if (::ftruncate(memory.get(), static_cast<off_t>(length)) != 0) {
    return tl::make_unexpected(
        locked(NotScannedReason::encrypted_volume, signature + ": ftruncate the memory file: " + errno_text(errno)));
  }
  if (!copy_range(img, offset, memory.get(), 0, probe, error)) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume, signature + ": " + error));
  }
  const std::string device = "/proc/self/fd/" + std::to_string(memory.get());
  crypt_device* raw = nullptr;
  if (const int r = fn<decltype(&crypt_init)>("crypt_init")(&raw, device.c_str()); r < 0) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume,
                                      signature + ": libcryptsetup cannot open the header: " + errno_text(-r)));
  }
  CryptPtr cd(raw);
  std::string last_error;
  fn<decltype(&crypt_set_log_callback)>("crypt_set_log_callback")(cd.get(), quiet_log, &last_error);
  if (const int r = fn<decltype(&crypt_load)>("crypt_load")(cd.get(), CRYPT_LUKS, nullptr); r < 0) {
    return tl::make_unexpected(
        locked(NotScannedReason::encrypted_volume, signature + ": libcryptsetup cannot read the LUKS header: " +
                                                       (last_error.empty() ? errno_text(-r) : last_error)));
  }
  const char* type = fn<decltype(&crypt_get_type)>("crypt_get_type")(cd.get());
  const char* cipher = fn<decltype(&crypt_get_cipher)>("crypt_get_cipher")(cd.get());
  const char* mode = fn<decltype(&crypt_get_cipher_mode)>("crypt_get_cipher_mode")(cd.get());
  const std::string cipher_name = std::string(cipher != nullptr ? cipher : "?") + "-" + (mode != nullptr ? mode : "?");
  const std::string description = std::string(type != nullptr ? type : "LUKS") + " " + cipher_name;
  const std::uint64_t data_sectors = fn<decltype(&crypt_get_data_offset)>("crypt_get_data_offset")(cd.get());
  const std::uint64_t iv_offset = fn<decltype(&crypt_get_iv_offset)>("crypt_get_iv_offset")(cd.get());
  const int key_size = fn<decltype(&crypt_get_volume_key_size)>("crypt_get_volume_key_size")(cd.get());
  const int sector_size = fn<decltype(&crypt_get_sector_size)>("crypt_get_sector_size")(cd.get());
  std::uint64_t data_offset = 0;
  if (data_sectors == 0 || __builtin_mul_overflow(data_sectors, kSector, &data_offset)) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume,
                                      signature + ": the data segment starts at sector " +
                                          std::to_string(data_sectors) + " (no data here: a detached header?)"));
  }
  if (data_offset >= length) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume,
                                      signature + ": the data segment starts at byte " + std::to_string(data_offset) +
                                          ", past the end of the volume (" + std::to_string(length) + " bytes)"));
  }
  if (key_size <= 0 || key_size > 256 ||
      (sector_size != 512 && sector_size != 1024 && sector_size != 2048 && sector_size != 4096)) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume,
                                      signature + ": " + description + " with a key of " + std::to_string(key_size) +
                                          " bytes and sectors of " + std::to_string(sector_size) + " bytes"));
  }
  if (auto refused = kdf_cost_refusal(memory.get(), version, probe / (version == 2 ? 2 : 1))) {
    return tl::make_unexpected(
        locked(NotScannedReason::encrypted_volume, signature + ": " + description + ": " + *refused));
  }
  // The active key slots' areas (crypt_keyslot_area; at most limits::kMaxLuksHeaderBytes in all):
  // the rest of the memory file stays zeros, as libcryptsetup reads nothing else to unlock.
  if (auto copied = copy_key_slots(img, offset, length, memory.get(), probe, cd.get()); !copied) {
    return tl::make_unexpected(locked(NotScannedReason::encrypted_volume, signature + ": " + copied.error()));
  }
  const auto plan =
      plan_for(cipher != nullptr ? cipher : "", mode != nullptr ? mode : "", static_cast<std::size_t>(key_size));

  const VolumeKeys& keys = volume_keys();
  std::size_t tried = 0;
  for (const VolumeKey& key : keys.keys) {
    if (key.kind != KeyKind::luks_passphrase) continue;
    ++tried;
    auto volume_key = std::make_shared<SecretBytes>(static_cast<std::size_t>(key_size));
    std::size_t got = volume_key->capacity();
    last_error.clear();
    const int slot = fn<decltype(&crypt_volume_key_get)>("crypt_volume_key_get")(
        cd.get(), CRYPT_ANY_SLOT, reinterpret_cast<char*>(volume_key->data()), &got,
        reinterpret_cast<const char*>(key.bytes->data()), key.bytes->size());
    if (slot == -EPERM) continue;  // not this passphrase
    if (slot < 0) {
      return tl::make_unexpected(
          locked(NotScannedReason::encrypted_volume, signature + ": " + description +
                                                         ": libcryptsetup could not try the passphrase: " +
                                                         (last_error.empty() ? errno_text(-slot) : last_error)));
    }
    volume_key->resize(got);
    if (!plan) {
      return tl::make_unexpected(locked(NotScannedReason::encrypted_volume,
                                        signature + ": the passphrase fits (" + description +
                                            "), but flscan does not decrypt the cipher " + cipher_name +
                                            " (it decrypts aes-xts-plain64, aes-xts-plain, aes-cbc-essiv:sha256, "
                                            "aes-cbc-plain64 and aes-cbc-plain)"));
    }
    const auto unit = static_cast<std::uint64_t>(sector_size);
    const std::uint64_t data_size = (length - data_offset) / unit * unit;
    auto layer = std::make_shared<LuksLayer>(offset, data_offset, data_size, static_cast<unsigned>(sector_size),
                                             iv_offset, *plan, std::move(volume_key));
    return UnlockedVolume{std::move(layer), KeyKind::luks_passphrase, description};
  }
  return tl::make_unexpected(
      locked(NotScannedReason::key_rejected, signature + ": " + description + ": none of the " + std::to_string(tried) +
                                                 " passphrase(s) given (--luks-passphrase-file) opens it"));
}

}  // namespace flscan::scanner::image
