// An encrypted volume found in an image (BitLocker, BitLocker To Go, LUKS1, LUKS2), opened with
// the keys the user gave (volume_keys.h, issue 15). The decrypted volume is a VolumeLayer
// (volume_layer.h): its filesystem opens and reads like a partition's, on every thread.
//
//  - BitLocker and BitLocker To Go: libbde (bitlocker_volume.cpp), loaded at run time, reading the
//    volume's bytes through the container image with a libbfio handle of flscan's own, so a
//    BitLocker volume inside any container or partition opens. The volume is unlocked once per
//    scan (issue 19: each unlock derives the volume key from a password again, about 0.9 s of
//    CPU, and libbde has no way to hand the derived key over): the layer keeps that one libbde
//    handle, and every thread reads through it in turn (a mutex), each through its own container.
//  - LUKS1 and LUKS2: libcryptsetup (luks_volume.cpp), loaded at run time, reads the header
//    (copied from the image into a memory file: no device, no device-mapper, no root) and derives
//    the volume key from a passphrase once; the sectors are then decrypted by OpenSSL with dm-crypt's
//    rules (luks_volume.cpp): aes-xts-plain64, aes-cbc-essiv:sha256, aes-cbc-plain64, aes-cbc-plain.
//
// Without a key of the volume's kind it stays NOT SCANNED encrypted-volume, as before; with keys
// of its kind none of which fits, key-rejected; a volume whose key fits but that flscan cannot
// decrypt (a cipher it does not implement) is encrypted-volume with the cipher named.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <tl/expected.hpp>
#include <tsk/libtsk.h>

#include "engine/byte_view.h"
#include "scanner/image/volume_keys.h"
#include "scanner/image/volume_layer.h"
#include "scanner/report/report.h"

namespace flscan::scanner::image {

// A volume opened by a key: its layer (the plaintext volume) and the kind of key that fitted.
struct UnlockedVolume {
  std::shared_ptr<const VolumeLayer> layer;
  KeyKind key = KeyKind::luks_passphrase;
  std::string description;  // "LUKS2 aes-xts-plain64", "BitLocker AES-CBC 128-bit", ...
};

// Why it stays closed: key-rejected, or encrypted-volume (no key of its kind, a cipher flscan does
// not decrypt, a library that cannot be loaded, metadata that cannot be read), with the detail.
// Never another reason: a volume with an encryption signature is an encrypted volume, which also
// confirms a raw file as a disk image (image_layout.cpp).
struct LockedVolume {
  NotScannedReason reason = NotScannedReason::encrypted_volume;
  std::string detail;
};

using UnlockResult = tl::expected<UnlockedVolume, LockedVolume>;

// The encrypted volume at bytes [offset, offset + length) of `img` (opened on this thread), whose
// first sector is `first_sector` and whose signature encryption_signature described as
// `signature`, tried with every key of its kind in volume_keys().
[[nodiscard]] UnlockResult unlock_encrypted_volume(TSK_IMG_INFO* img, std::uint64_t offset, std::uint64_t length,
                                                   ByteView first_sector, const std::string& signature);

// How many times this process had libbde open a BitLocker volume with a key, each of which derives
// the volume key (about 0.9 s of CPU for a password or a recovery password): one per volume and
// key tried in a scan, however many threads read the volume. For the tests (issue 19).
[[nodiscard]] std::uint64_t bitlocker_unlock_attempts();

// The two schemes (bitlocker_volume.cpp, luks_volume.cpp); called with keys of their kind given.
[[nodiscard]] UnlockResult unlock_bitlocker(TSK_IMG_INFO* img, std::uint64_t offset, std::uint64_t length,
                                            const std::string& signature);
[[nodiscard]] UnlockResult unlock_luks(TSK_IMG_INFO* img, std::uint64_t offset, std::uint64_t length,
                                       const std::string& signature);

}  // namespace flscan::scanner::image
