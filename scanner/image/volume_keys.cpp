#include "scanner/image/volume_keys.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include <openssl/crypto.h>

#include "scanner/image/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"

namespace flscan::scanner::image {
namespace {

std::size_t page_size() {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<std::size_t>(size) : 4096;
}

// Set once by the program before any thread reads it (volume_keys.h).
VolumeKeys& keys_storage() {
  static VolumeKeys keys;
  return keys;
}

// Reads all of `fd` into `out` (at most its capacity); false with `error` when the file is larger.
bool read_all(int fd, SecretBytes& out, std::string& error) {
  std::size_t done = 0;
  for (;;) {
    if (done == out.capacity()) {
      std::uint8_t probe = 0;
      ssize_t n = 0;
      do n = ::read(fd, &probe, 1);
      while (n < 0 && errno == EINTR);
      OPENSSL_cleanse(&probe, sizeof probe);
      if (n > 0) {
        error = "the file is larger than " + std::to_string(limits::kMaxKeyFileBytes) + " bytes: not a key file";
        return false;
      }
      break;
    }
    const ssize_t n = ::read(fd, out.data() + done, out.capacity() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "read: " + errno_text(errno);
      return false;
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return true;
}

bool is_password(KeyKind kind) { return kind != KeyKind::bitlocker_startup_key; }

}  // namespace

SecretBytes::SecretBytes(std::size_t capacity) : capacity_(capacity) {
  const std::size_t page = page_size();
  mapped_ = capacity == 0 ? page : (capacity + page - 1) / page * page;
  void* memory = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  data_ = static_cast<std::uint8_t*>(memory);
  // Best effort: RLIMIT_MEMLOCK may be small for an unprivileged user; the process is non-dumpable
  // and the pages are excluded from core dumps either way.
  locked_ = ::mlock(data_, mapped_) == 0;
  (void)::madvise(data_, mapped_, MADV_DONTDUMP);
  (void)::madvise(data_, mapped_, MADV_DONTFORK);
}

SecretBytes::~SecretBytes() {
  OPENSSL_cleanse(data_, mapped_);
  if (locked_) (void)::munlock(data_, mapped_);
  (void)::munmap(data_, mapped_);
}

void SecretBytes::resize(std::size_t size) {
  if (size > capacity_) size = capacity_;
  if (size < size_) OPENSSL_cleanse(data_ + size, size_ - size);
  size_ = size;
}

bool VolumeKeys::has(KeyKind kind) const {
  for (const VolumeKey& key : keys) {
    if (key.kind == kind) return true;
  }
  return false;
}

bool VolumeKeys::has_bitlocker() const {
  return has(KeyKind::bitlocker_recovery_password) || has(KeyKind::bitlocker_password) ||
         has(KeyKind::bitlocker_startup_key);
}

bool looks_like_recovery_password(std::string_view text) {
  constexpr std::size_t kGroups = 8;
  constexpr std::size_t kDigits = 6;
  if (text.size() != kGroups * kDigits + kGroups - 1) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i % (kDigits + 1) == kDigits;
    if (dash ? text[i] != '-' : (text[i] < '0' || text[i] > '9')) return false;
  }
  return true;
}

void harden_process_for_keys() {
  (void)::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  const struct rlimit none {};
  (void)::setrlimit(RLIMIT_CORE, &none);
}

tl::expected<VolumeKeys, std::string> read_key_files(const std::vector<KeyFileOption>& options) {
  VolumeKeys keys;
  if (options.empty()) return keys;
  if (options.size() > limits::kMaxKeyFiles) {
    return tl::make_unexpected("at most " + std::to_string(limits::kMaxKeyFiles) + " key files may be given");
  }
  // Checked before anything is read: a key given on the command line, standard input twice.
  std::size_t from_stdin = 0;
  for (const KeyFileOption& option : options) {
    if (looks_like_recovery_password(option.file)) {
      return tl::make_unexpected(std::string(key_kind_option(option.kind)) +
                                 ": the argument looks like a BitLocker recovery password; keys are never taken from "
                                 "the command line (other users see it in ps): put it in a file and name the file, "
                                 "or give - and write it to standard input");
    }
    if (option.file == "-" && ++from_stdin > 1) {
      return tl::make_unexpected(std::string(key_kind_option(option.kind)) +
                                 ": standard input (-) can be read for one key only");
    }
  }
  harden_process_for_keys();
  std::size_t ordinal = 0;
  for (const KeyFileOption& option : options) {
    ++ordinal;
    // Never the argument itself in a message: it may be a key given in the wrong place.
    const std::string which = std::string(key_kind_option(option.kind)) + " (key file " + std::to_string(ordinal) + ")";
    if (option.file.empty()) return tl::make_unexpected(which + ": needs a file name");
    Fd owned;
    int fd = STDIN_FILENO;
    if (option.file != "-") {
      owned = Fd(::open(option.file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
      if (!owned.valid()) return tl::make_unexpected(which + ": cannot open the file it names: " + errno_text(errno));
      fd = owned.get();
    }
    auto bytes = std::make_shared<SecretBytes>(limits::kMaxKeyFileBytes);
    std::string error;
    if (!read_all(fd, *bytes, error)) return tl::make_unexpected(which + ": " + error);
    if (is_password(option.kind)) {
      std::size_t size = bytes->size();
      if (size > 0 && bytes->data()[size - 1] == '\n') --size;
      if (size > 0 && bytes->data()[size - 1] == '\r') --size;
      bytes->resize(size);
    }
    if (bytes->size() == 0) return tl::make_unexpected(which + ": the file is empty");
    keys.keys.push_back(VolumeKey{option.kind, std::move(bytes)});
  }
  return keys;
}

void set_volume_keys(VolumeKeys keys) { keys_storage() = std::move(keys); }

const VolumeKeys& volume_keys() { return keys_storage(); }

}  // namespace flscan::scanner::image
