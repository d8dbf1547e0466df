// The keys of encrypted volumes (issue 15): BitLocker recovery passwords, passwords and startup
// keys (.BEK files), LUKS passphrases, read from the files the key options name
// (--bitlocker-recovery-password FILE, --bitlocker-password FILE, --bitlocker-key-file FILE,
// --luks-passphrase-file FILE; "-" is standard input, /dev/fd/N a descriptor the caller opened).
//
// A key is never taken from the command line itself (argv is visible to every user in ps and
// /proc/PID/cmdline): an option argument that looks like a BitLocker recovery password (48 digits
// in 8 groups of 6) is refused with an error saying to put it in a file, and no error message
// repeats an option's argument (it might be a key typed in the wrong place).
//
// Once the first key is read the process is made non-dumpable (PR_SET_DUMPABLE 0: no core dump,
// no ptrace by other users, /proc/PID/mem closed to them) and its core size limit is set to 0.
// Key bytes live only in SecretBytes: pages of their own, locked in memory where the limits allow
// (mlock; never swapped), excluded from core dumps (MADV_DONTDUMP), and overwritten
// (OPENSSL_cleanse) before they are freed. The volume keys the unlocking derives live there too.
// Keys never appear in a report, a log, the progress line, a child's argv or the environment:
// reports name only the kind of key that opened a volume.
//
// Several volumes, several keys: each option may be repeated, and every key of a volume's kind is
// tried on every encrypted volume of that kind (in every image and partition), in the order given;
// the first that opens it is used and named in the report (its kind, never the key). With keys of
// its kind given and none fitting, a volume is NOT SCANNED key-rejected; with none of its kind,
// encrypted-volume as before.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/enum_table.h"

namespace flscan::scanner::image {

// Bytes of a secret, in memory of their own (see above). Not copyable: shared as
// std::shared_ptr<const SecretBytes> between the threads that unlock volumes.
class SecretBytes {
 public:
  // Room for `capacity` bytes (size() 0); throws std::bad_alloc when no memory can be mapped.
  explicit SecretBytes(std::size_t capacity);
  ~SecretBytes();
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  [[nodiscard]] std::uint8_t* data() { return data_; }
  [[nodiscard]] const std::uint8_t* data() const { return data_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  // Sets the size (<= capacity); bytes past it are cleansed.
  void resize(std::size_t size);
  [[nodiscard]] bool locked() const { return locked_; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t mapped_ = 0;
  bool locked_ = false;
};

using Secret = std::shared_ptr<const SecretBytes>;

enum class KeyKind {
  bitlocker_recovery_password,  // --bitlocker-recovery-password FILE
  bitlocker_password,           // --bitlocker-password FILE
  bitlocker_startup_key,        // --bitlocker-key-file FILE (a .BEK file)
  luks_passphrase,              // --luks-passphrase-file FILE
};

// The stable code a report names the key kind by (JSON "decrypted_with", scanner/JSON.md), and
// the option that gives it (enum_table.h: code, description).
inline constexpr std::array kKeyKinds = {
    EnumRow{KeyKind::bitlocker_recovery_password, "bitlocker-recovery-password", "--bitlocker-recovery-password"},
    EnumRow{KeyKind::bitlocker_password, "bitlocker-password", "--bitlocker-password"},
    EnumRow{KeyKind::bitlocker_startup_key, "bitlocker-startup-key", "--bitlocker-key-file"},
    EnumRow{KeyKind::luks_passphrase, "luks-passphrase", "--luks-passphrase-file"},
};
constexpr const auto& enum_rows(KeyKind) { return kKeyKinds; }
static_assert(is_complete_table(kKeyKinds), "kKeyKinds: one row per KeyKind, in order");
[[nodiscard]] constexpr std::string_view key_kind_code(KeyKind kind) { return code_of(kind); }
[[nodiscard]] constexpr std::string_view key_kind_option(KeyKind kind) { return description_of(kind); }

struct VolumeKey {
  KeyKind kind = KeyKind::luks_passphrase;
  Secret bytes;
};

struct VolumeKeys {
  std::vector<VolumeKey> keys;  // in the order the options were given
  [[nodiscard]] bool has(KeyKind kind) const;
  [[nodiscard]] bool has_bitlocker() const;
};

// A key option as given: the kind and its argument (a file name, "-" or /dev/fd/N).
struct KeyFileOption {
  KeyKind kind = KeyKind::luks_passphrase;
  std::string file;
};

// Reads every key file (at most limits::kMaxKeyFileBytes each; a password's one trailing newline
// is dropped, "\r\n" too; a startup key is kept as its bytes), hardening the process first. The
// error names the option and its position, never the argument.
[[nodiscard]] tl::expected<VolumeKeys, std::string> read_key_files(const std::vector<KeyFileOption>& options);

// Whether `text` looks like a BitLocker recovery password (8 groups of 6 digits, '-' between).
[[nodiscard]] bool looks_like_recovery_password(std::string_view text);

// The keys every encrypted volume is tried with, set once by the program before scanning and
// read by every thread afterwards.
void set_volume_keys(VolumeKeys keys);
[[nodiscard]] const VolumeKeys& volume_keys();

// PR_SET_DUMPABLE 0 and RLIMIT_CORE 0 (done by read_key_files; exposed for tests).
void harden_process_for_keys();

}  // namespace flscan::scanner::image
